// Navigation that never strands a person: going back falls back to home.
function back() {
  const pages = typeof getCurrentPages === 'function' ? getCurrentPages() : []
  if (pages.length > 1) wx.navigateBack({ delta: 1 })
  else wx.reLaunch({ url: '/pages/index/index' })
}
function go(url) { wx.navigateTo({ url, fail: () => wx.redirectTo({ url }) }) }
function home() { wx.reLaunch({ url: '/pages/index/index' }) }
module.exports = { back, go, home }
