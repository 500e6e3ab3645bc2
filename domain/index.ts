export * from './flow-types';
export * from './statuses';
