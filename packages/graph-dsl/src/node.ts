/**
 * `@tessera/graph-dsl/node`: the parts that need Node.js (file writing). The main entry has no
 * Node-only import, so that a browser bundler takes it as is.
 */
export * from './io.ts';
