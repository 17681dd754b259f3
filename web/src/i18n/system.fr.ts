import type systemEn from './system.en.js';

/** Chaînes de la page Système (administration). en : system.en.ts, mêmes clés. */
const systemFr: typeof systemEn = {
  nav: 'Système',
  title: 'Système',
  intro: "L'état de cette installation de Cairn : ses nœuds, le retard de ses projections sur le registre, le travail en arrière-plan, le stockage et les contrôles d'intégrité.",
  refresh: 'Actualiser',
  nodes: {
    title: 'Nœuds vus récemment',
    hint: "Chaque serveur signale sa présence toutes les 15 secondes ; un nœud silencieux depuis une minute disparaît de cette liste.",
    none: "Aucun nœud n'a encore signalé sa présence.",
    host: 'Hôte',
    version: 'Version',
    started: 'Démarré',
    seen: 'Vu pour la dernière fois',
    thisNode: 'ce nœud',
  },
  lags: {
    title: 'Projections',
    none: 'Aucune projection.',
    name: 'Projection',
    behind: 'Entrées en retard',
    seconds: 'Secondes de retard',
    state: 'État',
    ok: 'À jour',
    lagging: 'En rattrapage',
    failing: 'Arrêtée sur une entrée',
    rebuilding: 'En reconstruction',
    checkpoint: 'Dernier point de scellement',
    checkpointAge: 'il y a {{seconds}} s, {{unsealed}} entrées depuis',
    noCheckpoint: 'Aucun point de scellement pour le moment',
  },
  jobs: {
    title: "Tâches d'arrière-plan",
    waiting: 'En attente',
    running: 'En cours',
    failed: 'En échec (essais épuisés)',
  },
  storage: {
    title: 'Stockage utilisé',
    blobs_one: '{{count}} contenu de fichier distinct, {{size}}',
    blobs_other: '{{count}} contenus de fichiers distincts, {{size}}',
    hint: "Fichiers des jeux de données ; chaque contenu n'est stocké qu'une fois, quel que soit le nombre de versions qui y renvoient.",
  },
  verify: {
    title: 'Vérification du registre',
    never: "Le registre n'a pas encore été vérifié.",
    last: 'Dernière vérification',
    by: 'par {{name}}',
    ok: 'Aucune altération trouvée : {{checked}} entrées et {{checkpoints}} points de scellement vérifiés en {{ms}} ms.',
    problems_one: '{{count}} problème trouvé parmi {{checked}} entrées.',
    problems_other: '{{count}} problèmes trouvés parmi {{checked}} entrées.',
    run: 'Vérifier le registre maintenant',
    running: 'Vérification…',
  },
};

export default systemFr;
