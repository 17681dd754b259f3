import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { linearTrend } from './datahub.api.js';

/**
 * Values over time with their least-squares trend line. x is in seconds (uPlot's time scale);
 * the trend is drawn from the first to the last point.
 */
export function TrendChart({ points, label, trendLabel, bars = false, height = 260, language }: { points: { t: number; v: number }[]; label: string; trendLabel?: string; bars?: boolean; height?: number; language?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || !points.length) return;
    const xs = points.map((p) => p.t);
    const ys = points.map((p) => p.v);
    const trend = trendLabel ? linearTrend(points.map((p) => ({ x: p.t, y: p.v }))) : null;
    const series: uPlot.Series[] = [
      {},
      bars
        ? { label, stroke: '#2f6f5e', fill: 'rgba(47,111,94,0.35)', paths: uPlot.paths.bars!({ size: [0.6, 40] }), points: { show: false } }
        : { label, stroke: '#2f6f5e', width: 0, points: { show: true, size: 8, fill: '#2f6f5e' } },
    ];
    const data: uPlot.AlignedData = [xs, ys];
    if (trend) {
      series.push({ label: trendLabel, stroke: '#c2410c', width: 2, dash: [6, 4], points: { show: false } });
      (data as (number | null)[][]).push(xs.map((x) => trend.slope * x + trend.intercept));
    }
    // Axes in the reader's language (uPlot's own date labels are English): dates and numbers by Intl.
    const axes: uPlot.Axis[] = language
      ? [
          { values: (_u, splits) => splits.map((s) => new Date(s * 1000).toLocaleDateString(language, { day: 'numeric', month: 'short', year: '2-digit' })) },
          { label, values: (_u, splits) => splits.map((s) => new Intl.NumberFormat(language).format(s)) },
        ]
      : [{}, {}];
    const plot = new uPlot({ width: Math.max(el.clientWidth, 300), height, series, scales: { x: { time: true } }, axes }, data, el);
    const onResize = () => plot.setSize({ width: Math.max(el.clientWidth, 300), height });
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      plot.destroy();
    };
  }, [points, label, trendLabel, bars, height, language]);
  return <div ref={ref} className="trend-chart" role="img" aria-label={label} data-points={points.length} />;
}
