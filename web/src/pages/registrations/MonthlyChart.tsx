import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * Registrations per month as bars (uPlot, as the data hub's charts). `months` are `YYYY-MM`, one
 * bar slot each (an index scale, so one month or sixty read the same); each later series is drawn
 * narrower inside the first, since it is a part of it (registered within a year ⊂ registered).
 * The chart follows its container's width so it never widens a phone's page.
 */
export function MonthlyChart({ months, series, label, monthLabel }: { months: string[]; series: { label: string; values: number[]; color: string }[]; label: string; monthLabel: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || !months.length) return;
    const xs = months.map((_, i) => i);
    const name = (i: number) => months[Math.round(i)] ?? '';
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: 240,
      series: [
        { label: monthLabel, value: (_u, v) => (v === null || v === undefined ? '—' : name(v)) },
        ...series.map((s, k) => ({
          label: s.label,
          stroke: s.color,
          fill: `${s.color}88`,
          paths: uPlot.paths.bars!({ size: k === 0 ? [0.8, 80] : [0.45, 40] }),
          points: { show: false },
        })),
      ],
      scales: { x: { time: false, range: () => [-0.5, months.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        {
          splits: () => xs.filter((i) => months.length <= 12 || i % Math.ceil(months.length / 12) === 0),
          values: (_u, ticks) => ticks.map((t) => name(t)),
        },
        { values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) },
      ],
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 200), height: 240 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [months, series, monthLabel]);
  return <div ref={ref} className="reg-chart" role="img" aria-label={label} data-months={months.length} />;
}
