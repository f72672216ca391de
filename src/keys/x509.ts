// @peculiar/x509 depends on tsyringe, which throws at import time unless a Reflect
// metadata polyfill was loaded first; ESM evaluates these imports in source order.
import 'reflect-metadata';
export * from '@peculiar/x509';
