// Calls a wx API and returns a Promise, whichever style the API (or a test
// double) uses: the success/fail callbacks, or a returned Promise (newer
// base libraries return one when no callback is given; some return one
// anyway). The first outcome wins.
function wxp(name, options = {}) {
  return new Promise((resolve, reject) => {
    if (typeof wx === 'undefined' || typeof wx[name] !== 'function') {
      reject(new Error(`wx.${name} is not available`))
      return
    }
    let done = false
    const ok = res => { if (!done) { done = true; resolve(res) } }
    const bad = err => { if (!done) { done = true; reject(err || new Error(`wx.${name} failed`)) } }
    let ret
    try {
      ret = wx[name](Object.assign({}, options, { success: ok, fail: bad }))
    } catch (e) {
      bad(e)
      return
    }
    if (ret && typeof ret.then === 'function') ret.then(ok, bad)
  })
}

module.exports = { wxp }
