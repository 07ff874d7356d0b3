'use client';

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatBucketLabel, type Bucket } from '@/lib/time-range';
import { COLORS } from './chart-colors';

export function TrafficChart({ series, bucket }: { series: readonly { start: string; allowed: number; denied: number }[]; bucket: Bucket }) {
  const data = series.map((point) => ({ ...point, label: formatBucketLabel(point.start, bucket) }));
  return (
    <div className="chart" data-testid="traffic-chart" data-points={data.length}>
      <ResponsiveContainer width="100%" height={260}>
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" stroke={COLORS.grid} vertical={false} />
          <XAxis dataKey="label" tick={{ fontSize: 12, fill: COLORS.axis }} minTickGap={24} />
          <YAxis allowDecimals={false} tick={{ fontSize: 12, fill: COLORS.axis }} width={48} />
          <Tooltip contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)', color: 'var(--text)' }} cursor={{ fill: COLORS.cursor }} />
          <Legend />
          <Bar dataKey="allowed" name="Allowed" stackId="calls" fill={COLORS.allow} isAnimationActive={false} />
          <Bar dataKey="denied" name="Denied" stackId="calls" fill={COLORS.deny} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
