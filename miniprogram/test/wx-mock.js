// A test double of `wx` at the edge: wx.request answers from a route table
// (METHOD + path → body, or a function), every call is recorded, and each
// API answers in the style chosen: "callback" (success/fail) or "promise"
// (a returned Promise; callbacks ignored), as different base libraries do.
function createWx({ routes = {}, style = 'callback', base = 'http://127.0.0.1:8080' } = {}) {
  const storage = new Map()
  const calls = []
  const modals = []
  const toasts = []
  const navigations = []
  const self = {}

  function answer(name, opts, run) {
    calls.push({ name, opts })
    let result, failed
    try { result = run(opts) } catch (e) { failed = e }
    const settle = () => {
      if (style === 'promise') return failed ? Promise.reject(failed) : Promise.resolve(result)
      Promise.resolve().then(() => {
        if (failed) { if (opts.fail) opts.fail(failed) } else if (opts.success) opts.success(result)
        if (opts.complete) opts.complete(failed || result)
      })
      return { abort() {} }
    }
    if (result && typeof result.then === 'function') {
      if (style === 'promise') return result
      result.then(r => opts.success && opts.success(r), e => opts.fail && opts.fail(e))
      return { abort() {} }
    }
    return settle()
  }

  function route(method, url, data) {
    const path = url.replace(base, '')
    const key = `${method} ${path.split('?')[0]}`
    let h = routes[key]
    if (h === undefined && key === 'POST /api/v1/auth/wechat/login') {
      h = { access_token: 'lya_test', refresh_token: 'lyr_test', user: { id: 3, real_name: '', phone_masked: '' } }
    }
    if (h === undefined) return { statusCode: 404, data: { error: { code: 'no_route', message: `测试里没有 ${key}` } } }
    if (typeof h === 'function') h = h(data, path)
    if (h && h.__network_error) throw { errMsg: 'request:fail timeout' }
    if (h && h.__status) return { statusCode: h.__status, data: h.body }
    return { statusCode: 200, data: h }
  }

  Object.assign(self, {
    __calls: calls, __modals: modals, __toasts: toasts, __navigations: navigations, __storage: storage,
    __routes: routes,
    requests() { return calls.filter(c => c.name === 'request').map(c => `${c.opts.method} ${c.opts.url.replace(base, '')}`) },
    bodyOf(key) { const c = calls.filter(c => c.name === 'request' && `${c.opts.method} ${c.opts.url.replace(base, '')}` === key).pop(); return c && c.opts.data },
    getStorageSync: k => storage.get(k),
    setStorageSync: (k, v) => { storage.set(k, v) },
    removeStorageSync: k => { storage.delete(k) },
    login: o => answer('login', o || {}, () => ({ code: 'test.' + calls.length })),
    request: o => answer('request', o, () => route(o.method || 'GET', o.url, o.data)),
    uploadFile: o => answer('uploadFile', o, () => {
      const r = route('POST', o.url, o.formData)
      return { statusCode: r.statusCode, data: JSON.stringify(r.data) }
    }),
    downloadFile: o => answer('downloadFile', o, () => ({ statusCode: 200, tempFilePath: 'http://tmp/' + o.url.split('/').pop() })),
    showModal: o => answer('showModal', o, () => { modals.push(o); return { confirm: true, cancel: false } }),
    showToast: o => answer('showToast', o, () => { toasts.push(o); return {} }),
    showLoading: o => answer('showLoading', o, () => ({})),
    hideLoading: o => answer('hideLoading', o || {}, () => ({})),
    navigateTo: o => answer('navigateTo', o, () => { navigations.push(o.url); return {} }),
    redirectTo: o => answer('redirectTo', o, () => { navigations.push(o.url); return {} }),
    reLaunch: o => answer('reLaunch', o, () => { navigations.push(o.url); return {} }),
    navigateBack: o => answer('navigateBack', o || {}, () => { navigations.push('back'); return {} }),
    requestSubscribeMessage: o => answer('requestSubscribeMessage', o, () => {
      const r = { errMsg: 'requestSubscribeMessage:ok' }
      o.tmplIds.forEach(id => { r[id] = 'accept' })
      return r
    }),
    canvasToTempFilePath: o => answer('canvasToTempFilePath', o, () => ({ tempFilePath: 'http://tmp/signature.png' })),
    chooseMedia: o => answer('chooseMedia', o, () => ({ tempFiles: [{ tempFilePath: 'http://tmp/paper.jpg', size: 2048 }] })),
    showShareMenu: o => answer('showShareMenu', o || {}, () => ({})),
    getShareInfo: o => answer('getShareInfo', o, () => {
      if (self.__shareInfo) return self.__shareInfo(o)
      return { errMsg: 'getShareInfo:ok', encryptedData: 'ENC', iv: 'IV' }
    }),
    // how the mini-program was entered: set __enter to { scene: 1044, shareTicket } for a group card
    getEnterOptionsSync: () => self.__enter || { scene: 1001, path: '', query: {} },
    getLaunchOptionsSync: () => self.__enter || { scene: 1001, path: '', query: {} },
    setClipboardData: o => answer('setClipboardData', o, () => ({})),
    getWindowInfo: () => ({ pixelRatio: 2, windowWidth: 375, windowHeight: 667, screenWidth: 375, screenHeight: 667 }),
    getAppBaseInfo: () => ({ SDKVersion: '3.6.0', language: 'zh_CN', theme: 'light' }),
    getDeviceInfo: () => ({ platform: 'devtools', system: 'iOS 17', model: 'iPhone' }),
    getSystemInfoSync: () => ({ pixelRatio: 2, windowWidth: 375, windowHeight: 667, SDKVersion: '3.6.0', platform: 'devtools' }),
    vibrateShort: o => answer('vibrateShort', o || {}, () => ({})),
    nextTick: fn => setTimeout(fn, 0),
  })
  return self
}

module.exports = { createWx }
