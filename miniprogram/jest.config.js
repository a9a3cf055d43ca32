module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.js'],
  // TDesign's files in miniprogram_npm are ES modules; node_modules are not transformed.
  transform: { '\\.js$': 'babel-jest' },
  transformIgnorePatterns: ['/node_modules/'],
  testTimeout: 60000,
  setupFiles: ['<rootDir>/test/setup.js'],
}
