#!/usr/bin/env node
// Opens every page rendered by test/seen-render.test.js in Debian's
// Chromium at 375×667, saves a PNG per page in test-artifacts/, and checks
// what a machine can check of the elder-friendly rules on the rendered
// page: text at least 18 px (36rpx), contrast of text against its
// background at least 4.5:1, touch targets at least 44 px (88rpx) high.
const fs = require('fs')
const path = require('path')
const { chromium } = require('playwright-core')

const ROOT = path.join(__dirname, '..')
const HTML = path.join(ROOT, 'test-artifacts', 'html')
const OUT = path.join(ROOT, 'test-artifacts')

function audit() {
  const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return [0, 0, 0, 0]; const p = m[1].split(',').map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1] }
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4) }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b) }
  const over = (top, bottom) => { const a = top[3]; return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat(1) }
  function background(el) {
    const layers = []
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor)
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break }
    }
    let bg = [255, 255, 255, 1]
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg)
    return bg
  }
  const visible = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el); return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0 }
  const problems = []
  const label = el => (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 24)
  let texts = 0
  for (const el of document.querySelectorAll('page *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
    if (!own || !visible(el)) continue
    texts++
    const s = getComputedStyle(el)
    const size = parseFloat(s.fontSize)
    if (size < 18) problems.push(`font ${size}px < 18px: “${label(el)}”`)
    const fg = parse(s.color)
    const bg = background(el)
    const fgc = over(fg, bg)
    const L1 = lum(fgc), L2 = lum(bg)
    const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05)
    if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)} < 4.5: “${label(el)}” (${s.color} on rgb(${bg.slice(0, 3).join(',')}))`)
  }
  let targets = 0
  const TAP = /--(item|link|choice|back|home|clear|btn-ok|btn-no|photo|share-btn|phone-btn|tab|star|cell)$/
  const tappable = [...document.querySelectorAll('page *')].filter(el => el.tagName === 'WX-BUTTON' || ['button', 'radio'].includes(el.getAttribute('aria-role')) ||
    String(el.className || '').split(/\s+/).some(c => TAP.test(c)))
  for (const el of tappable) {
    if (!visible(el)) continue
    targets++
    const r = el.getBoundingClientRect()
    if (r.height < 44 - 0.5) problems.push(`touch target ${r.height.toFixed(1)}px high < 44px: “${label(el)}”`)
  }
  return { problems, texts, targets, width: document.documentElement.scrollWidth }
}

async function main() {
  const files = fs.readdirSync(HTML).filter(f => f.endsWith('.html')).sort()
  if (!files.length) throw new Error('no rendered pages in ' + HTML)
  // playwright gives each launch a fresh temporary --user-data-dir of its own
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  })
  let failed = 0
  try {
    const ctx = await browser.newContext({ viewport: { width: 375, height: 667 }, deviceScaleFactor: 2, colorScheme: 'light' })
    const page = await ctx.newPage()
    for (const f of files) {
      const name = f.replace(/\.html$/, '')
      await page.goto('file://' + path.join(HTML, f))
      await page.evaluate(() => document.fonts.ready)
      await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true })
      const r = await page.evaluate(audit)
      if (r.width > 375) r.problems.push(`page is ${r.width}px wide (wider than the 375px screen)`)
      if (r.texts === 0) r.problems.push('no text on the page (blank screen)')
      const status = r.problems.length ? 'FAIL' : 'ok  '
      console.log(`${status} ${name}.png  (${r.texts} texts, ${r.targets} touch targets)`)
      r.problems.forEach(p => console.log(`       ${p}`))
      if (r.problems.length) failed++
    }
  } finally {
    await browser.close()
  }
  if (failed) { console.error(`seen: ${failed} page(s) break the elder-friendly rules`); process.exit(1) }
  console.log(`seen: ${files.length} pages in ${OUT}, all readable by the machine's rules`)
}

main().catch(e => { console.error(e); process.exit(1) })
