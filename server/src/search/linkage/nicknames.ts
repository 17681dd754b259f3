/**
 * Given names that name the same person although no spelling rule joins them (Bill and William,
 * Peggy and Margaret, Jeanne and Jeannette). Each line is one family of equivalent names, folded
 * (lower case, no accents). Small on purpose: a wrong family here would merge two people.
 */
const FAMILIES = `
william bill billy will willy liam
robert bob bobby rob robbie bert
richard rick ricky dick rich
elizabeth liz lizzie beth betty bess eliza elisabeth lisa
margaret maggie meg peggy marguerite margot
katherine catherine kate katie kathy cathy kathleen catarina
james jim jimmy jamie jacques
john jack johnny jean johan juan ivan
joseph joe joey jose giuseppe
michael mike mickey michel miguel mikhail
thomas tom tommy tomas
charles charlie chuck carl karl carlos
edward ed eddie ted teddy edouard
alexander alex alexandre alejandro sasha sandro
alexandra alex sandra sasha alexandrine
christopher chris kit christophe cristobal
daniel dan danny
anthony tony antoine antonio
nicholas nick nicolas nico
benjamin ben benji
samuel sam sammy
matthew matt mathieu matteo
andrew andy drew andre andres
stephen steve steven stephane esteban
patrick pat paddy patrice
susan sue susie suzanne susanna
deborah debbie deb debra
jennifer jen jenny
rebecca becky becca
victoria vicky tori
josephine josie jo josefina
jeanne jeannette jeannine joanna
marie mary maria mariam maryam miriam
anne ann anna annie hannah nancy
francis frank francois francesco
frances fran francoise francesca
henry harry henri enrique
louis lou luis luigi ludovic
peter pete pierre pedro pietro
paul pablo paolo
george georges jorge
mohammed mohamed muhammad mohammad muhammed mohamad mehmet
ahmed ahmad ahmet
youssef yusuf yousef joseph
ibrahim abraham
ali aly
fatima fatoumata fatou
aminata amina
ousmane othman osman uthman
abdoulaye abdullah abdallah abdulla
moussa musa moses
aissatou aisha aicha ayesha
`;

const family = new Map<string, Set<number>>();
FAMILIES.trim()
  .split('\n')
  .forEach((line, i) => {
    for (const name of line.trim().split(/\s+/)) {
      const set = family.get(name) ?? new Set<number>();
      set.add(i);
      family.set(name, set);
    }
  });

/** True when two folded given names are in one family (every word of one against the other's first word). */
export function sameNickname(a: string, b: string): boolean {
  // Runs for every pair of different names a de-duplication pass compares: most names are in no
  // family, so the other side is looked up only when this one is.
  const fa = family.get(firstWord(a));
  if (!fa) return false;
  const fb = family.get(firstWord(b));
  if (!fb) return false;
  for (const x of fa) if (fb.has(x)) return true;
  return false;
}

function firstWord(s: string): string {
  const i = s.indexOf(' ');
  return i < 0 ? s : s.slice(0, i);
}
