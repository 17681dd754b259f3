/**
 * A small bar chart of a few values (a weekly trend on the home page), drawn as inline SVG: the
 * home page is in the first bundle a phone downloads, so it does without uPlot (which the data
 * hub and registration pages load with their own chunks). It scales to its container's width.
 */
export function Sparkline({ values, label }: { values: number[]; label: string }) {
  const max = Math.max(1, ...values);
  const w = 100 / Math.max(values.length, 1);
  return (
    <svg className="sparkline" viewBox="0 0 100 30" preserveAspectRatio="none" role="img" aria-label={label}>
      {values.map((v, i) => {
        const h = v ? Math.max(2, (v / max) * 28) : 0.8;
        return <rect key={i} x={i * w + w * 0.15} y={30 - h} width={w * 0.7} height={h} rx={0.8} className={v ? 'spark-bar' : 'spark-zero'} />;
      })}
    </svg>
  );
}
