// The environment for an npm or pnpm run outside the workspace. A `pnpm run` script inherits
// pnpm's whole config as npm_* variables (the catalog, `local_prefix` pointing at the workspace,
// the lifecycle event, its user agent), which would make a nested npm act as if run inside the
// workspace's script. Only the settings that say where packages come from are kept: the registry
// (scoped ones too), the cache, certificates and proxies.
const KEEP =
  /^npm_config_(.*_?registry|cache|cafile|ca|userconfig|proxy|https_proxy|noproxy|no_proxy|strict_ssl)$/i;

/** `env` without the npm_* variables of the package manager running this script. */
export function npmEnv(env = process.env, extra = {}) {
  const clean = Object.fromEntries(
    Object.entries(env).filter(([name]) => !/^npm_/i.test(name) || KEEP.test(name)),
  );
  return { ...clean, ...extra };
}
