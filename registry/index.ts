/** The registry client, pull and push: what other modules import. */
export { BlobIndex, type CompressedVariant, type LayerCompression } from './blob-index.js';
export { RegistryClient, type RegistryClientOptions } from './client.js';
export {
  dockerConfigDir,
  eraseCredentials,
  lookupCredentials,
  storeCredentials,
  type Credentials,
  type CredentialOptions,
} from './credentials.js';
export { ImageReferenceError, RegistryError } from './errors.js';
export { RegistryImageSource, type RegistryImageSourceOptions } from './image-source.js';
export { defaultPlatform, parsePlatform } from './manifests.js';
export { pullImage, type BlobProgress, type PullOptions, type PullResult } from './pull.js';
export { pushImage, type PushOptions, type PushResult } from './push.js';
export {
  familiarName,
  formatReference,
  normalizeRegistryName,
  parseReference,
  type ImageReference,
} from './reference.js';
