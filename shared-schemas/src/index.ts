export * from './common.js';
export * from './health.js';
export * from './docs.js';
export * from './auth.js';
export * from './metadata.js';
export * from './database.js';
export * from './storage.js';
export * from './secrets.js';
