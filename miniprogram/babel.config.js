// Only for jest: TDesign's miniprogram_dist files are ES modules.
module.exports = { plugins: ['@babel/plugin-transform-modules-commonjs'] }
