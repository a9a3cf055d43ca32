// The one place for settings that differ between the embedded default and
// production: the API base URL and the subscribe message template IDs.
// The embedded default server (go run ./server) listens on :8080 and its
// fake WeChat configures the templates "demo-<kind>".
module.exports = {
  apiBase: 'http://127.0.0.1:8080',
  // kind → subscribe message template id (what wx.requestSubscribeMessage asks for)
  subscribeTemplates: {
    notice: 'demo-notice',
    motion_opened: 'demo-motion_opened',
    motion_reminder: 'demo-motion_reminder',
    motion_result: 'demo-motion_result',
    delegation_received: 'demo-delegation_received',
    delegation_accepted: 'demo-delegation_accepted',
    delegation_revoked: 'demo-delegation_revoked',
    petition_closed: 'demo-petition_closed',
  },
  requestTimeoutMs: 15000,
}
