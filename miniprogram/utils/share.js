// Sharing into the courtyard's WeChat group.
//
// Cards are shared with a share ticket (wx.showShareMenu({withShareTicket:
// true}) on the page; onShareAppMessage gives the title and path). Whoever
// opens such a card from a group starts the mini-program with a shareTicket
// in its enter/launch options (scene 1044). wx.getShareInfo turns the ticket
// into encryptedData and iv, which only the server can decrypt (with the
// WeChat session key of this login, which the mini-program never sees): the
// server learns the group's id from WeChat, not from us.
//
// The council links the group to its courtyard once (linkGroup); opening a
// notice from that group is counted once per person (countOpen).
const api = require('./api')
const { wxp } = require('./wxp')

// The share ticket this mini-program was opened with, or ''. Page queries
// do not carry it; the enter options (hot start from a card), the launch
// options and what the app saw in onLaunch/onShow do.
function ticket(query) {
  if (query && query.shareTicket) return query.shareTicket
  const sources = []
  try { if (typeof wx !== 'undefined' && wx.getEnterOptionsSync) sources.push(wx.getEnterOptionsSync()) } catch (e) { /* old base library */ }
  try {
    // eslint-disable-next-line no-undef
    const app = typeof getApp === 'function' ? getApp() : null
    if (app && app.globalData) sources.push(app.globalData.launch)
  } catch (e) { /* no app in tests */ }
  try { if (typeof wx !== 'undefined' && wx.getLaunchOptionsSync) sources.push(wx.getLaunchOptionsSync()) } catch (e) { /* old base library */ }
  const found = sources.find(o => o && o.shareTicket)
  return found ? found.shareTicket : ''
}

// Makes the page's share card carry a share ticket.
function enableTicket() {
  if (typeof wx !== 'undefined' && wx.showShareMenu) {
    wx.showShareMenu({ withShareTicket: true, menus: ['shareAppMessage'], fail() {} })
  }
}

const GROUP_MESSAGE = '没能读出微信群的信息，请回到微信群，重新点开这张卡片再试。'

async function info(shareTicket) {
  let res
  try {
    res = await wxp('getShareInfo', { shareTicket })
  } catch (e) {
    throw new api.ApiError('share_info_failed', GROUP_MESSAGE, 0)
  }
  if (!res || !res.encryptedData || !res.iv) throw new api.ApiError('share_info_failed', GROUP_MESSAGE, 0)
  return { encrypted_data: res.encryptedData, iv: res.iv }
}

// Sends the share info to the server. When the server cannot decrypt it
// (WeChat gave the user a new session key since this login), logs in
// again, asks WeChat again and tries once more.
async function send(shareTicket, call) {
  try {
    return await call(await info(shareTicket))
  } catch (e) {
    if (!(e && (e.code === 'share_data_invalid' || e.code === 'wechat_session_missing'))) throw e
    api.setTokens(null)
    await api.login()
    return call(await info(shareTicket))
  }
}

// Council: make the group this card was opened from the courtyard's group.
function linkGroup(courtyardId, shareTicket) {
  return send(shareTicket, data => api.linkWeChatGroup(courtyardId, data))
}

// Resident: count this opening of a notice from its group. Never throws:
// reading the notice matters, not the count. Resolves to the server's
// answer, or null.
function countOpen(noticeId, shareTicket) {
  if (!shareTicket) return Promise.resolve(null)
  return send(shareTicket, data => api.openedFromGroup(noticeId, data)).catch(() => null)
}

module.exports = { ticket, enableTicket, linkGroup, countOpen }
