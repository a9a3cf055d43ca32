// Asks for subscribe-message permission. Must be called synchronously inside
// the tap handler (WeChat refuses it otherwise); the answers are reported to
// the server, which counts one message per "accept". Never blocks the
// action the person tapped for: failures are ignored.
const config = require('../config')
const api = require('./api')
const { wxp } = require('./wxp')

function ask(kinds) {
  const ids = kinds.map(k => config.subscribeTemplates[k]).filter(Boolean)
  if (!ids.length || typeof wx === 'undefined' || !wx.requestSubscribeMessage) return Promise.resolve(null)
  // wxp calls wx.requestSubscribeMessage synchronously, still inside the tap
  return wxp('requestSubscribeMessage', { tmplIds: ids }).then(res => {
    const results = {}
    ids.forEach(i => { if (res && typeof res[i] === 'string') results[i] = res[i] })
    if (!Object.keys(results).length) return null
    return api.reportSubscriptions(results).catch(() => null)
  }, () => null)
}

module.exports = { ask }
