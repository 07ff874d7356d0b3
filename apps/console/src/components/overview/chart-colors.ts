/** Mid-tone colours readable on both themes (SVG presentation attributes cannot take CSS variables everywhere). */
export const COLORS = {
  allow: '#2f9e6b',
  deny: '#e0484f',
  grid: 'rgba(128, 128, 128, 0.25)',
  axis: '#8a8f98',
  cursor: 'rgba(128, 128, 128, 0.12)',
} as const;
