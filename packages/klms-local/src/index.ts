/**
 * klms-local: a local STELAR KLMS for developing and testing tools without a cluster.
 */
export {
  OBJECT_STORE_CREDENTIALS,
  type ObjectStore,
  type ObjectStoreOptions,
  startObjectStore,
} from "./object-store.js";
