import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { localise, validateSubmission, type SubmissionError } from '@cairn/sdk/instruments';
import { InstrumentRenderer, type Answers } from '../components/instrument-renderer/InstrumentRenderer.js';
import { GatewayProblem, openAssignment, pending, sealAnswers, sendPart, Unreachable, type OpenedAssignment } from './gateway.api.js';

type Phase = { kind: 'checking' } | { kind: 'checkFailed' } | { kind: 'closed'; message: string } | { kind: 'form' } | { kind: 'done' } | { kind: 'error' };

const CLOSED: Record<string, string> = { assignment_expired: 'gateway.expired', assignment_cancelled: 'gateway.cancelled', assignment_completed: 'gateway.completed', not_found: 'gateway.notFound' };
const RETRY_MS = 15_000;

export function GatewayApp({ linkId }: { linkId: string }) {
  const { t, i18n } = useTranslation();
  const [phase, setPhase] = useState<Phase>({ kind: 'checking' });
  const [assignment, setAssignment] = useState<OpenedAssignment>();
  const token = useRef('');
  const [done, setDone] = useState<Set<number>>(new Set());
  const [waiting, setWaiting] = useState(() => pending.read(linkId).length > 0);

  const fail = useCallback(
    (e: unknown) => {
      if (e instanceof GatewayProblem && CLOSED[e.code]) setPhase({ kind: 'closed', message: t(CLOSED[e.code]!) });
      else if (e instanceof GatewayProblem && e.code === 'pow_failed') setPhase({ kind: 'checkFailed' });
      else setPhase({ kind: 'error' });
    },
    [t],
  );

  /** Sends what waits in this browser; answers whether everything went. */
  const flush = useCallback(async (): Promise<boolean> => {
    let queue = pending.read(linkId);
    for (const s of queue) {
      try {
        const r = await sendPart(linkId, token.current, s);
        setDone((d) => new Set(d).add(s.part));
        if (r.status === 'completed') setPhase({ kind: 'done' });
      } catch (e) {
        if (e instanceof Unreachable) {
          setWaiting(true);
          return false;
        }
        // Already there (sent before the answer got lost) is as good as sent; a closed link is final.
        if (!(e instanceof GatewayProblem && e.code === 'already_submitted')) {
          pending.write(linkId, []);
          fail(e);
          return false;
        }
      }
      queue = queue.filter((x) => x.part !== s.part);
      pending.write(linkId, queue);
    }
    setWaiting(false);
    return true;
  }, [fail, linkId]);

  const start = useCallback(() => {
    setPhase({ kind: 'checking' });
    openAssignment(linkId)
      .then(async (r) => {
        token.current = r.token;
        setAssignment(r.assignment);
        void i18n.changeLanguage(r.assignment.language === 'fr' ? 'fr' : 'en');
        setDone(new Set(r.assignment.parts.flatMap((p, i) => (p.done ? [i] : []))));
        setPhase({ kind: 'form' });
        await flush();
      })
      .catch((e: unknown) => (e instanceof Unreachable ? setWaiting(true) : fail(e)));
  }, [fail, flush, i18n, linkId]);

  // Once per page load: `start` changes with the language (the page switches to the
  // assignment's), and a second check would only spend the participant's battery.
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    start();
  }, [start]);

  // While sealed answers wait, try again now and then (and at once when the network comes back).
  useEffect(() => {
    if (!waiting) return;
    const retry = () => (token.current ? void flush() : start());
    const timer = setInterval(retry, RETRY_MS);
    window.addEventListener('online', retry);
    return () => {
      clearInterval(timer);
      window.removeEventListener('online', retry);
    };
  }, [waiting, flush, start]);

  const current = assignment?.parts.findIndex((_, i) => !done.has(i) && !pending.read(linkId).some((p) => p.part === i)) ?? -1;
  const title = assignment ? localise(assignment.title, assignment.language, [assignment.language]) : '';

  return (
    <main className="gateway" aria-live="polite">
      {title && <h1>{title}</h1>}
      {waiting && (
        <div className="alert alert-warning" role="status" data-state="waiting">
          <p>{t('gateway.offline')}</p>
          <button type="button" className="btn" onClick={() => (token.current ? void flush() : start())}>
            {t('gateway.sendNow')}
          </button>
        </div>
      )}
      {phase.kind === 'checking' && !waiting && (
        <p className="gateway-check" data-state="checking">
          <span className="spinner-dot" aria-hidden="true" /> {t('gateway.checking')}
        </p>
      )}
      {phase.kind === 'checkFailed' && (
        <div className="alert alert-error" role="alert">
          <p>{t('gateway.checkFailed')}</p>
          <button type="button" className="btn" onClick={start}>
            {t('gateway.retry')}
          </button>
        </div>
      )}
      {phase.kind === 'closed' && <p className="alert alert-info" data-state="closed">{phase.message}</p>}
      {phase.kind === 'error' && <p className="alert alert-error" role="alert">{t('gateway.error')}</p>}
      {(phase.kind === 'done' || (phase.kind === 'form' && assignment && current === -1 && !waiting)) && (
        <p className="alert alert-success" data-state="done">
          {t('gateway.done')}
        </p>
      )}
      {phase.kind === 'form' && assignment && current >= 0 && (
        <Part
          key={current}
          assignment={assignment}
          index={current}
          onSealed={async (s) => {
            pending.write(linkId, [...pending.read(linkId).filter((p) => p.part !== s.part), s]);
            await flush();
          }}
        />
      )}
    </main>
  );
}

function Part({ assignment, index, onSealed }: { assignment: OpenedAssignment; index: number; onSealed: (s: Awaited<ReturnType<typeof sealAnswers>>) => Promise<void> }) {
  const { t } = useTranslation();
  const part = assignment.parts[index]!;
  const form = part.definition;
  const language = form.languages.includes(assignment.language) ? assignment.language : form.languages[0]!;
  const [answers, setAnswers] = useState<Answers>({});
  const [errors, setErrors] = useState<SubmissionError[]>([]);
  const [busy, setBusy] = useState(false);
  const linkId = location.pathname.split('/').filter(Boolean).pop() ?? '';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    // The same engine as the server's: the participant fixes mistakes here, before sealing.
    const local = validateSubmission(form, answers);
    if (!local.ok) {
      setErrors(local.errors);
      requestAnimationFrame(() => document.querySelector<HTMLElement>('.has-error input, .has-error select, .has-error textarea')?.focus());
      return;
    }
    setErrors([]);
    setBusy(true);
    try {
      await onSealed(await sealAnswers(assignment.publicKey, linkId, index, answers));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate data-part={index}>
      {assignment.parts.length > 1 && <p className="gateway-part">{t('gateway.part', { n: index + 1, total: assignment.parts.length })}</p>}
      <h2>{localise(form.details.title, language, form.languages)}</h2>
      {errors.length > 0 && (
        <p className="alert alert-error" role="alert">
          {t('gateway.fixErrors')}
        </p>
      )}
      <InstrumentRenderer form={form} language={language} answers={answers} onChange={setAnswers} errors={errors} />
      <p className="field-hint">{t('gateway.sealedNote')}</p>
      {assignment.parts.length > 1 && <p className="field-hint">{t('gateway.resumeNote')}</p>}
      <button type="submit" className="btn btn-primary gateway-send" disabled={busy}>
        {busy ? t('gateway.sending') : t('gateway.send')}
      </button>
    </form>
  );
}
