/**
 * Version negotiation: from the broker's ApiVersions answer and the versions Tributary speaks, the
 * highest version of each API both support.
 */
import { UnsupportedVersionError } from "../errors.ts";

export interface VersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface SupportedApi {
  name: string;
  key: number;
  minVersion: number;
  maxVersion: number;
}

/** The highest version both sides support; throws `UnsupportedVersionError` when there is none. */
export function pickVersion(api: SupportedApi, broker: ReadonlyArray<VersionRange>): number {
  const offered = broker.find((b) => b.apiKey === api.key);
  const clientRange = { min: api.minVersion, max: api.maxVersion };
  if (!offered) throw new UnsupportedVersionError({ api: api.name, apiKey: api.key, brokerRange: null, clientRange });
  const version = Math.min(offered.maxVersion, api.maxVersion);
  if (version < Math.max(offered.minVersion, api.minVersion)) {
    throw new UnsupportedVersionError({
      api: api.name, apiKey: api.key, brokerRange: { min: offered.minVersion, max: offered.maxVersion }, clientRange,
    });
  }
  return version;
}

/**
 * The version to use for each of `apis` the broker shares with Tributary. APIs without a common
 * version are left out, with their errors in `unsupported`, so a client fails only when it uses one.
 */
export function negotiateVersions(
  apis: Iterable<SupportedApi>,
  broker: ReadonlyArray<VersionRange>,
): { versions: Map<string, number>; unsupported: Map<string, UnsupportedVersionError> } {
  const versions = new Map<string, number>();
  const unsupported = new Map<string, UnsupportedVersionError>();
  for (const api of apis) {
    try {
      versions.set(api.name, pickVersion(api, broker));
    } catch (error) {
      if (!(error instanceof UnsupportedVersionError)) throw error;
      unsupported.set(api.name, error);
    }
  }
  return { versions, unsupported };
}
