import type { NextConfig } from 'next';
import path from 'node:path';

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // npm workspaces hoist next into the repository root's node_modules.
  turbopack: { root: path.join(import.meta.dirname, '..', '..') },
};

export default nextConfig;
