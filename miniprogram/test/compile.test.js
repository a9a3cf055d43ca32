// Every .wxml through the official wcc and every .wxss through wcsc (both
// ship in miniprogram-compiler): a syntax error fails the test.
const fs = require('fs')
const path = require('path')
const { spawnSync } = require('child_process')
const { ROOT } = require('./helpers')

const BIN = path.join(ROOT, 'node_modules/miniprogram-compiler/bin/linux')
function own(ext) {
  const out = []
  const walk = d => {
    for (const e of fs.readdirSync(path.join(ROOT, d), { withFileTypes: true })) {
      if (['node_modules', 'miniprogram_npm', 'test', 'test-artifacts', 'scripts'].includes(e.name)) continue
      const rel = d ? `${d}/${e.name}` : e.name
      if (e.isDirectory()) walk(rel)
      else if (rel.endsWith(ext)) out.push(rel)
    }
  }
  walk('')
  return out.sort()
}
function run(bin, args) {
  fs.chmodSync(path.join(BIN, bin), 0o755)
  return spawnSync(path.join(BIN, bin), args, { cwd: ROOT, maxBuffer: 256 << 20 })
}

test('the project has pages and components', () => {
  const app = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
  for (const p of app.pages) {
    for (const ext of ['.js', '.json', '.wxml', '.wxss']) {
      expect(fs.existsSync(path.join(ROOT, p + ext))).toBe(true)
    }
  }
  expect(own('.wxml').length).toBeGreaterThan(app.pages.length)
})

test('every .wxml compiles with the official wcc', () => {
  const files = own('.wxml')
  for (const f of files) {
    const r = run('wcc', ['-d', '-cc', '0', f, '-gn', '$gwx'])
    expect({ file: f, status: r.status, err: r.stderr.toString() }).toEqual({ file: f, status: 0, err: '' })
  }
})

test('every .wxss compiles with wcsc', () => {
  const files = own('.wxss')
  // all files in one call, as imports resolve among the named files; TDesign's theme is imported by app.wxss
  const npm = 'miniprogram_npm/tdesign-miniprogram/common/style/theme/_index.wxss'
  const r = run('wcsc', ['-lc', ...files, npm])
  const out = r.stdout.toString() + r.stderr.toString()
  expect(out).not.toMatch(/ERR:/)
  expect(r.status).toBe(0)
})

test('a broken file is caught (the check itself works)', () => {
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'wx-'))
  fs.writeFileSync(path.join(dir, 'bad.wxml'), '<view><text>x</view>')
  fs.writeFileSync(path.join(dir, 'bad.wxss'), '.a { color: red; ')
  fs.chmodSync(path.join(BIN, 'wcc'), 0o755)
  const w = spawnSync(path.join(BIN, 'wcc'), ['-d', '-cc', '0', 'bad.wxml', '-gn', '$gwx'], { cwd: dir })
  expect(w.status).not.toBe(0)
  const s = spawnSync(path.join(BIN, 'wcsc'), ['-lc', 'bad.wxss'], { cwd: dir })
  expect(s.status + s.stdout.toString() + s.stderr.toString()).toMatch(/ERR|[1-9]/)
})
