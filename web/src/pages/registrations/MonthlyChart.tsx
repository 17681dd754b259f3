import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * Registrations per month as bars (uPlot, as the data hub's charts). `months` are `YYYY-MM`;
 * the chart follows its container's width so it never widens a phone's page.
 */
export function MonthlyChart({ months, series, label }: { months: string[]; series: { label: string; values: number[]; color: string }[]; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || !months.length) return;
    const xs = months.map((m) => Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5, 7)) - 1, 1) / 1000);
    const bars = uPlot.paths.bars!({ size: [0.7 / Math.max(1, series.length), 40] });
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: 240,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, fill: `${s.color}66`, paths: bars, points: { show: false } }))],
      scales: { x: { time: true } },
      axes: [{ values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toISOString().slice(0, 7)) }, {}],
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 200), height: 240 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [months, series]);
  return <div ref={ref} className="reg-chart" role="img" aria-label={label} data-months={months.length} />;
}
