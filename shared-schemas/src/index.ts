export * from './common.js';
export * from './auth.js';
export * from './metadata.js';
export * from './database.js';
export * from './storage.js';
