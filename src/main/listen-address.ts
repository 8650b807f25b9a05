// The parser moved to base/ so the engine's and the registry's metrics listeners share it; main keeps its name.
export { parseListenAddress, type ListenAddress } from '../base/listen-address.ts';
