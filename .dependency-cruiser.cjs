// Import boundaries (platform issue 11): checked by `npm run lint:deps` and by a test, so a cycle
// or a kernel→domain import fails CI instead of waiting for a reviewer to notice.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle makes module start-up order matter and hides which domain owns what.',
      from: { path: '^(server|gateway|sdk|cli|web)/src' },
      to: { circular: true },
    },
    {
      name: 'kernel-imports-no-domain',
      severity: 'error',
      comment: 'kernel/ is shared plumbing: it must not know about any domain.',
      from: { path: '^server/src/kernel/' },
      to: { path: '^server/src/(?!kernel/)[^/]+/' },
    },
    {
      name: 'gateway-imports-no-core',
      severity: 'error',
      comment: 'The remote-capture gateway runs in a DMZ and must not carry core code or secrets.',
      from: { path: '^gateway/' },
      to: { path: '^server/' },
    },
    {
      name: 'sdk-imports-no-server',
      severity: 'error',
      comment: 'The SDK ships to third parties; the server imports the SDK types, never the reverse.',
      from: { path: '^sdk/' },
      to: { path: '^(server|web|cli)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(node_modules|dist|\\.test\\.ts$)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs'] },
  },
};
