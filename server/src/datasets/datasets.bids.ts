import type { Issue } from './datasets.checks.js';

/**
 * Optional BIDS validation on `bids-validator` 1.x (docs/datasets.md, "BIDS plugin"). The package
 * is ~700 MB, so it is not a dependency: an operator installs it and sets CAIRN_BIDS_VALIDATOR=true.
 * It validates a directory, so the validation job materialises the version into a temporary one.
 */
interface BidsIssue {
  key?: string;
  code?: number;
  reason?: string;
  files?: Array<{ file?: { relativePath?: string; path?: string } | null; reason?: string; evidence?: string } | null>;
}
interface BidsModule {
  BIDS(dir: string, options: Record<string, unknown>, cb: (issues: { errors?: BidsIssue[]; warnings?: BidsIssue[] } | string, summary: unknown) => void): void;
}

export interface BidsOptions {
  /** Skip the EMPTY_FILE check (code 99): example datasets ship empty placeholder data files. */
  ignoreEmptyFiles?: boolean;
  ignoreNiftiHeaders?: boolean;
  ignoreWarnings?: boolean;
}

let loaded: Promise<BidsModule | undefined> | undefined;

/** The validator module, or undefined when the package is not installed. */
export function loadBidsValidator(): Promise<BidsModule | undefined> {
  loaded ??= import('bids-validator' as string)
    .then((m: { default?: BidsModule } & Partial<BidsModule>) => (m.default?.BIDS ? m.default : m.BIDS ? (m as BidsModule) : undefined))
    .catch((e: { code?: string }) => {
      if (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') return undefined;
      throw e;
    });
  return loaded;
}

export async function runBidsValidator(dir: string, options: BidsOptions = {}): Promise<Issue[]> {
  const mod = await loadBidsValidator();
  if (!mod) return [{ code: 'bids_validator_unavailable', severity: 'warning', file: null, message: 'BIDS validation is enabled but the bids-validator package is not installed' }];
  const raw = await new Promise<{ errors?: BidsIssue[]; warnings?: BidsIssue[] } | string>((resolve) =>
    mod.BIDS(
      dir,
      {
        ignoreWarnings: options.ignoreWarnings ?? false,
        ignoreNiftiHeaders: options.ignoreNiftiHeaders ?? false,
        ignoreSubjectConsistency: false,
        verbose: false,
        config: { ignore: options.ignoreEmptyFiles ? [99] : [], warn: [], error: [], ignoredFiles: [] },
      },
      (issues) => resolve(issues),
    ),
  );
  if (typeof raw === 'string') return [{ code: 'bids_not_a_dataset', severity: 'error', file: null, message: raw }];
  const out: Issue[] = [];
  const add = (list: BidsIssue[] | undefined, severity: 'error' | 'warning') => {
    for (const i of list ?? []) {
      const code = `bids.${i.key ?? i.code ?? 'issue'}`;
      const files = (i.files ?? []).filter((f) => f?.file);
      if (!files.length) out.push({ code, severity, file: null, message: i.reason ?? code });
      for (const f of files.slice(0, 100)) {
        const rel = (f!.file!.relativePath ?? f!.file!.path ?? '').replace(/^\/+/, '');
        out.push({ code, severity, file: rel || null, message: f!.reason ?? i.reason ?? code });
      }
    }
  };
  add(raw.errors, 'error');
  add(raw.warnings, 'warning');
  return out;
}
