// Globals the mini-program runtime provides.
global.getApp = () => ({ globalData: {} })
global.getCurrentPages = () => [{ route: 'pages/index/index' }, { route: 'pages/x/x' }]
global.wx = require('./wx-mock').createWx()
