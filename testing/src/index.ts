export * from './infra';
export * from './names';
export * from './nodes';
