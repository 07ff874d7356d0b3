import { isIPv4, isIPv6 } from 'node:net';

/**
 * Cedar's `ip()` extension is stricter than Node's parser: it refuses IPv4 embedded in IPv6
 * (`::ffff:1.2.3.4`), zone ids (`fe80::1%eth0`) and leading zeros in a prefix length. An `ip("…")`
 * literal Cedar refuses is an evaluation error, not a parse error, so the policy would silently be
 * skipped: we accept here only what Cedar accepts.
 */
export function isValidCidr(value: string): boolean {
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const prefix = slash === -1 ? null : value.slice(slash + 1);
  const v4 = isIPv4(address);
  const v6 = !v4 && isIPv6(address) && !address.includes('.') && !address.includes('%');
  if (!v4 && !v6) return false;
  if (prefix === null) return true;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix)) return false;
  return Number(prefix) <= (v4 ? 32 : 128);
}

/**
 * The caller's address as Cedar's `ip()` will take it, or null when it is missing or not an address
 * Cedar understands (the engine then treats the caller IP as unknown, which fails closed).
 * IPv4-mapped IPv6 addresses, as Node reports IPv4 peers on a dual-stack socket, become plain IPv4;
 * an IPv6 zone id is dropped.
 */
export function normalizeCallerIp(value: string | null | undefined): string | null {
  if (!value) return null;
  let address = value.trim();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) address = mapped[1];
  const zone = address.indexOf('%');
  if (zone !== -1 && address.includes(':')) address = address.slice(0, zone);
  return isValidCidr(address) && !address.includes('/') ? address : null;
}
