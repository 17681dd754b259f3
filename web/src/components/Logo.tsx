/** The cairn: four stacked stones. */
export function Logo({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false" className="logo">
      <ellipse cx="16" cy="26" rx="11" ry="4" fill="var(--stone-1)" />
      <ellipse cx="16" cy="18.5" rx="8" ry="3.6" fill="var(--stone-2)" />
      <ellipse cx="16" cy="12" rx="5.5" ry="3" fill="var(--stone-3)" />
      <ellipse cx="16" cy="6.5" rx="3.2" ry="2.3" fill="var(--stone-4)" />
    </svg>
  );
}
