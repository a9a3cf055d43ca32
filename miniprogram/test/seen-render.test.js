// Renders every page (and a few states after taps) with realistic data and
// writes each as a standalone HTML file — the rendered tree, every
// component's WXSS with rpx converted as WeChat does at 375 px, app.wxss and
// TDesign's theme — for scripts/seen.js to open in Chromium, screenshot and
// check (font sizes, contrast, touch targets).
const fs = require('fs')
const path = require('path')
const simUtils = require('miniprogram-simulate/src/utils')
const simWxss = require('miniprogram-simulate/src/wxss')
const { ROOT, openPage, useWx, flush, tap, type } = require('./helpers')

const OUT = path.join(ROOT, 'test-artifacts', 'html')
const fx = name => JSON.parse(JSON.stringify(require(`./fixtures/${name}.json`)))

// WeChat's rule at 375 px wide: px = floor(rpx × 375 / 750 + 1e-4), at least 1 px
const rpx = css => css.replace(/(-?\d*\.?\d+)rpx/g, (all, n) => {
  const v = Number(n)
  if (v === 0) return '0'
  const px = Math.floor(Math.abs(v) * 375 / 750 + 1e-4) || 1
  return `${v < 0 ? -px : px}px`
})
simUtils.transformRpx = rpx

const BASE_CSS = `
html, body { margin: 0; padding: 0; }
body { width: 375px; min-height: 667px; -webkit-text-size-adjust: none; }
page { display: block; min-height: 667px; }
wx-view, wx-button, wx-input, wx-textarea, wx-canvas, wx-image, wx-picker, wx-scroll-view, wx-form { display: block; }
wx-text { display: inline; }
wx-input { box-sizing: border-box; line-height: 1.4; overflow: hidden; }
wx-input[placeholder]:empty::before, wx-textarea[placeholder]:empty::before { content: attr(placeholder); color: #6b6b6b; }
wx-input::before { display: flex; height: 100%; align-items: center; }
wx-button { position: relative; padding: 0 14px; box-sizing: border-box; font-size: 18px; text-align: center; text-decoration: none; line-height: 2.55555556; border-radius: 5px; overflow: hidden; color: #000; background-color: #f8f8f8; }
wx-image { width: 320px; height: 240px; background: #d9d9d9; }
wx-canvas { width: 300px; height: 150px; }
`

let app = ''
beforeAll(() => {
  fs.rmSync(OUT, { recursive: true, force: true })
  fs.mkdirSync(OUT, { recursive: true })
  const appWxss = simWxss.getContent(path.join(ROOT, 'app.wxss'))
  app = rpx(simWxss.compile(appWxss, { prefix: 'main' }))
  // wcsc output has TDesign's light theme under a media query; pin it
  app = app.replace(/@media \(prefers-color-scheme:\s*light\)\s*\{/, '@media all {')
})

function save(name, page) {
  const styles = [...document.querySelectorAll('head style')].map(s => s.innerHTML).join('\n')
  const html = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light">
<style>${BASE_CSS}</style><style>${styles}</style><style>${app}</style></head>
<body><page>${page.dom.outerHTML}</page></body></html>`
  fs.writeFileSync(path.join(OUT, `${name}.html`), html)
}

const base = () => ({
  'GET /api/v1/me': { kind: 'user', id: 3, name: '', grants: [{ role: 'council_chair', scope_type: 'courtyard', scope_id: 1 }] },
  'GET /api/v1/me/households': fx('households'),
  'GET /api/v1/me/notices/unread': { unread: 2 },
  'GET /api/v1/me/motions': (() => { const m = fx('mymotions'); m.motions[0].household_status = 'not_voted'; return m })(),
  'GET /api/v1/motions/1': fx('motion'),
  'GET /api/v1/me/delegations': fx('medeleg_wang'),
  'GET /api/v1/me/petitions': (() => { const m = fx('mypetitions'); delete m.petitions[0].signature; m.petitions[0].share_fen = 1250000; return m })(),
  'GET /api/v1/petitions/1': fx('petition'),
  'GET /api/v1/me/notices': fx('inbox'),
  'GET /api/v1/notices/2': fx('notice_view'),
  'POST /api/v1/notices/2/read': { __status: 204 },
  'GET /api/v1/receipts/6FKNWR66HFYC': fx('receipt'),
  'GET /api/v1/courtyards/1/motions': fx('court_motions'),
  'GET /api/v1/courtyards/1/notices': fx('court_notices'),
  'GET /api/v1/courtyards/1/wechat-group': { courtyard_id: 1, linked: false },
  'GET /api/v1/notices/4/report': fx('notice_report'),
  'GET /api/v1/motions/1/turnout': fx('turnout'),
  'POST /api/v1/notices/preview': { recipients: 56 },
  'GET /api/v1/courtyards/1/councils': { councils: [{ id: 1, name: '铝厂小区楼院理事会', courtyard_ids: [1] }] },
  'GET /api/v1/councils/1': fx('council'),
  'GET /api/v1/me/opinions': fx('opinions_mine'),
  'GET /api/v1/courtyards/1/opinions': fx('opinion_inbox'),
  'GET /api/v1/opinions/1': fx('opinion_resolved'),
  'GET /api/v1/councils/1/surveys': fx('surveys'),
  'GET /api/v1/surveys/1': fx('survey'),
  'GET /api/v1/councils/1/elections': fx('elections'),
  'GET /api/v1/elections/1': fx('election'),
  'GET /api/v1/motions/2': fx('election_motion'),
  'GET /api/v1/me/bind-requests': fx('bind_requests'),
  'GET /api/v1/household-lookup': fx('household_lookup'),
})
// the raiser (user 3) of opinion 1, not on the council
const RESIDENT = { 'GET /api/v1/me': { kind: 'user', id: 3, name: '', grants: [] }, 'GET /api/v1/me/households': fx('my_households') }

const PAGES = [
  ['index', 'pages/index/index', {}],
  ['bind', 'pages/bind/bind', {}],
  ['household', 'pages/household/household', {}],
  ['motion-list', 'pages/motion/list', {}],
  ['motion-detail', 'pages/motion/detail', { id: '1' }],
  ['motion-receipt', 'pages/motion/receipt', { code: '6FKNWR66HFYC' }],
  ['delegation-list', 'pages/delegation/list', {}],
  ['delegation-create', 'pages/delegation/create', {}],
  ['petition-list', 'pages/petition/list', {}],
  ['petition-detail', 'pages/petition/detail', { id: '1' }],
  ['petition-sign', 'pages/petition/sign', { id: '1' }],
  ['notice-list', 'pages/notice/list', {}],
  ['notice-detail', 'pages/notice/detail', { id: '2' }],
  ['council-index', 'pages/council/index', { courtyard: '1' }],
  ['council-notice-new', 'pages/council/notice-new', { courtyard: '1' }],
  ['council-notice-report', 'pages/council/notice-report', { id: '4' }],
  ['council-turnout', 'pages/council/turnout', { id: '1' }],
  ['council-paper-ballot', 'pages/council/paper-ballot', { id: '1' }],
  ['opinion-list', 'pages/opinion/list', {}, RESIDENT],
  ['opinion-new', 'pages/opinion/new', { courtyard: '1' }, RESIDENT],
  ['opinion-detail', 'pages/opinion/detail', { id: '1' }, RESIDENT],
  // the chair on a new public opinion: assign, reply, drafts
  ['opinion-detail-council', 'pages/opinion/detail', { id: '1' }, { 'GET /api/v1/opinions/1': { opinion: fx('opinion_inbox').opinions[1], replies: [] } }],
  ['council-opinions', 'pages/council/opinions', { courtyard: '1' }],
  ['survey-list', 'pages/survey/list', {}, RESIDENT],
  ['survey-detail', 'pages/survey/detail', { id: '1' }, RESIDENT],
  ['survey-answered', 'pages/survey/detail', { id: '1' }, Object.assign({ 'GET /api/v1/surveys/1': fx('survey_answered') }, RESIDENT)],
  ['election-list', 'pages/election/list', {}, RESIDENT],
  ['election-detail', 'pages/election/detail', { id: '1' }, { 'GET /api/v1/me': { kind: 'user', id: 4, name: '', grants: [] } }],
  ['election-nominating', 'pages/election/detail', { id: '1' }, Object.assign({ 'GET /api/v1/elections/1': fx('election_nominating') }, RESIDENT)],
  ['election-tie', 'pages/election/detail', { id: '1' }, Object.assign({ 'GET /api/v1/elections/1': fx('election_tie') }, RESIDENT)],
  ['election-nominate', 'pages/election/nominate', { id: '1' }, Object.assign({ 'GET /api/v1/elections/1': fx('election_nominating') }, RESIDENT)],
  ['election-ballot', 'pages/motion/detail', { id: '2' }, Object.assign({ 'GET /api/v1/me/motions': fx('election_mymotions'), 'GET /api/v1/me/delegations': { given: [], held: [] } }, RESIDENT)],
  ['bind-request', 'pages/bind/request', {}],
]

// (extra routes as a rest parameter: jest takes a fourth named one for done)
test.each(PAGES)('render %s', async (name, rel, query, ...extra) => {
  useWx(Object.assign(base(), extra[0] || {}))
  const p = await openPage(rel, query)
  save(name, p)
  expect(fs.existsSync(path.join(OUT, `${name}.html`))).toBe(true)
})

test('render states after taps: vote confirmation, receipt checked, error', async () => {
  useWx(base())
  let p = await openPage('pages/motion/detail', { id: '1' })
  await tap(p, '同意')
  save('motion-detail-chosen', p)
  await tap(p, '投下这一票')
  save('motion-vote-confirm', p)
  p = await openPage('pages/motion/receipt', { code: '6FKNWR66HFYC' })
  await tap(p, '核对这张回执')
  save('motion-receipt-checked', p)
  const routes = base(); routes['GET /api/v1/me/motions'] = { __status: 503, body: { error: { code: 'cache_unavailable', message: '系统繁忙，请稍后再试' } } }
  useWx(routes)
  p = await openPage('pages/motion/list')
  save('motion-list-error', p)
  useWx(base())
  p = await openPage('pages/council/notice-new', { courtyard: '1' })
  await type(p, '.input', '本周六停水通知')
  await type(p, '.textarea', '因管道检修，本周六8:00至12:00停水。')
  await tap(p, '下一步：确认发送')
  await flush()
  save('council-notice-confirm', p)
  const wx = useWx(base())
  wx.__enter = { scene: 1044, shareTicket: 'TICKET-G' }
  p = await openPage('pages/council/index', { courtyard: '1' })
  save('council-index-from-group', p)
})

test('render states after taps: opinion confirmation, rating, election ballot confirmation, survey filled, binding steps', async () => {
  const resident = () => useWx(Object.assign(base(), RESIDENT))
  resident()
  let p = await openPage('pages/opinion/new', { courtyard: '1' })
  await tap(p, '维修')
  await type(p, '.textarea', '1号楼1单元楼道灯坏了一个月，晚上上下楼看不见。')
  await tap(p, '点这里拍照或选照片')
  save('opinion-new-filled', p)
  await tap(p, '下一步：确认')
  save('opinion-new-confirm', p)
  resident()
  p = await openPage('pages/opinion/detail', { id: '1' })
  await tap(p, '4分')
  await tap(p, '重新打开这条意见')
  save('opinion-detail-rating', p)
  useWx(Object.assign(base(), RESIDENT, { 'GET /api/v1/me/motions': fx('election_mymotions'), 'GET /api/v1/me/delegations': { given: [], held: [] } }))
  p = await openPage('pages/motion/detail', { id: '2' })
  for (const n of ['王春芬', '孙丽华', '吴秀英', '赵国庆']) await tap(p, n)
  save('election-ballot-chosen', p)
  await tap(p, '投下这一票')
  save('election-ballot-confirm', p)
  p = await openPage('pages/motion/receipt', { code: 'ELECT3OF5RCP', chosen: encodeURIComponent('王春芬、孙丽华、吴秀英') })
  save('election-ballot-receipt', p)
  resident()
  p = await openPage('pages/survey/detail', { id: '1' })
  const stars = p.querySelectorAll('.star')
  stars[3].dispatchEvent('tap'); stars[9].dispatchEvent('tap'); await flush()
  save('survey-filled', p)
  useWx(Object.assign(base(), { 'GET /api/v1/me/bind-requests': { requests: [] } }))
  p = await openPage('pages/bind/request')
  const inputs = p.querySelectorAll('.input')
  for (const [i, v] of ['铝厂小区', '2', '1', '101'].entries()) { inputs[i].dispatchEvent('input', { detail: { value: v } }); await flush() }
  await tap(p, '查找这套房屋')
  await flush(10)
  save('bind-request-found', p)
  await tap(p, '是我家')
  await tap(p, '家庭成员（和业主是一家人）')
  save('bind-request-who', p)
})
