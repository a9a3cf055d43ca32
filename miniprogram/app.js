const api = require('./utils/api')

App({
  globalData: {},
  onLaunch(options) {
    // Log in early; pages also log in on demand through utils/api.js.
    api.ensureLogin().catch(() => {})
    this.globalData.launch = options || {}
  },
  onShow(options) {
    this.globalData.launch = options || {}
  },
})
