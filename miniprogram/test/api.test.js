// utils/api.js against a wx double: login, one shared refresh on 401, the
// server's Chinese message as is, network failure retried once then explained.
const { useWx } = require('./helpers')

function fresh(routes, style) {
  const wx = useWx(routes, style)
  wx.removeStorageSync('louyuan_tokens')
  jest.resetModules()
  const api = require('../utils/api')
  api.retryDelayMs = 1
  return { wx, api }
}

describe.each(['callback', 'promise'])('%s style', style => {
  test('logs in with wx.login and sends the token', async () => {
    const { wx, api } = fresh({ 'GET /api/v1/me': { id: 3 } }, style)
    await expect(api.me()).resolves.toEqual({ id: 3 })
    expect(wx.requests()).toEqual(['POST /api/v1/auth/wechat/login', 'GET /api/v1/me'])
    expect(wx.bodyOf('POST /api/v1/auth/wechat/login').code).toMatch(/^test\./)
    const last = wx.__calls.filter(c => c.name === 'request').pop()
    expect(last.opts.header.Authorization).toBe('Bearer lya_test')
  })

  test('two requests meeting 401 share one refresh, then retry', async () => {
    let fresh2 = false
    const { wx, api } = fresh({
      'GET /api/v1/me': (d, p) => (fresh2 ? { id: 3 } : { __status: 401, body: { error: { code: 'token_expired', message: '登录已过期' } } }),
      'GET /api/v1/me/notices/unread': () => (fresh2 ? { unread: 1 } : { __status: 401, body: { error: { code: 'token_expired', message: '登录已过期' } } }),
      'POST /api/v1/auth/refresh': () => { fresh2 = true; return { access_token: 'lya_new', refresh_token: 'lyr_new' } },
    }, style)
    wx.setStorageSync('louyuan_tokens', { access: 'lya_old', refresh: 'lyr_old' })
    const [a, b] = await Promise.all([api.me(), api.unreadCount()])
    expect(a).toEqual({ id: 3 })
    expect(b).toEqual({ unread: 1 })
    expect(wx.requests().filter(r => r === 'POST /api/v1/auth/refresh')).toHaveLength(1)
    expect(wx.bodyOf('POST /api/v1/auth/refresh')).toEqual({ refresh_token: 'lyr_old' })
    expect(wx.getStorageSync('louyuan_tokens').access).toBe('lya_new')
  })

  test('a failed refresh logs in again', async () => {
    let n = 0
    const { wx, api } = fresh({
      'GET /api/v1/me': () => (n++ === 0 ? { __status: 401, body: { error: { code: 'token_invalid', message: 'x' } } } : { id: 3 }),
      'POST /api/v1/auth/refresh': { __status: 401, body: { error: { code: 'token_invalid', message: '请重新登录' } } },
    }, style)
    wx.setStorageSync('louyuan_tokens', { access: 'lya_old', refresh: 'lyr_old' })
    await expect(api.me()).resolves.toEqual({ id: 3 })
    expect(wx.requests()).toContain('POST /api/v1/auth/wechat/login')
  })

  test('the server message is the error message', async () => {
    const { api } = fresh({ 'POST /api/v1/motions/1/ballots': { __status: 409, body: { error: { code: 'voting_closed', message: '该表决当前不在投票期内' } } } }, style)
    await expect(api.castBallot(1, 1, ['agree'])).rejects.toMatchObject({ code: 'voting_closed', message: '该表决当前不在投票期内', status: 409 })
  })

  test('a body without a message still explains in Chinese', async () => {
    const { api } = fresh({ 'GET /api/v1/me': { __status: 502, body: '<html>bad gateway</html>' } }, style)
    await expect(api.me()).rejects.toMatchObject({ message: '服务器暂时出了问题（错误 502），请稍后再试。' })
  })

  test('network failure: retried once, then explained', async () => {
    let n = 0
    const { wx, api } = fresh({ 'GET /api/v1/me': () => (n++ === 0 ? { __network_error: true } : { id: 3 }) }, style)
    await expect(api.me()).resolves.toEqual({ id: 3 })
    wx.__routes['GET /api/v1/me'] = { __network_error: true }
    await expect(api.me()).rejects.toMatchObject({ code: 'network', message: api.NETWORK_MESSAGE })
  })
})
