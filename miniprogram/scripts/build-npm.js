#!/usr/bin/env node
// Does what WeChat DevTools' "工具 → 构建 npm" does for this project, so that
// tests and CI need no DevTools: copies each dependency's miniprogram_dist
// from node_modules into miniprogram_npm/<name>/. Only the components the
// project's .json files use are copied, with everything they import (the
// same files DevTools keeps when "过滤无依赖文件" is on), which keeps the
// folder small (~0.5 MB instead of 5.6 MB). miniprogram_npm/ is not committed.
const fs = require('fs')
const path = require('path')

const root = path.join(__dirname, '..')
const pkgName = 'tdesign-miniprogram'
const dist = path.join(root, 'node_modules', pkgName, 'miniprogram_dist')
const out = path.join(root, 'miniprogram_npm', pkgName)

function walk(dir, list = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'miniprogram_npm', 'test', 'test-artifacts', 'scripts'].includes(e.name)) continue
    const p = path.join(dir, e.name)
    if (e.isDirectory()) walk(p, list)
    else list.push(p)
  }
  return list
}

function main() {
  if (!fs.existsSync(dist)) {
    console.error(`build-npm: ${dist} is missing; run npm ci first`)
    process.exit(1)
  }
  // component folders used by the project's own .json files
  const wanted = new Set()
  for (const f of walk(root).filter(f => f.endsWith('.json'))) {
    let json
    try { json = JSON.parse(fs.readFileSync(f, 'utf8')) } catch (e) { continue }
    for (const v of Object.values(json.usingComponents || {})) {
      const m = /(?:^|\/)miniprogram_npm\/tdesign-miniprogram\/([^/]+)\//.exec(v) || new RegExp(`^${pkgName}/([^/]+)/`).exec(v)
      if (m) wanted.add(m[1])
    }
  }
  // always needed by any TDesign component
  const dirs = new Set(['common', 'mixins', 'miniprogram_npm', 'config-provider'])
  const queue = [...wanted]
  while (queue.length) {
    const c = queue.pop()
    if (dirs.has(c)) continue
    dirs.add(c)
    const dir = path.join(dist, c)
    if (!fs.existsSync(dir)) throw new Error(`build-npm: no component ${c} in ${pkgName}`)
    for (const f of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8')
      const refs = [...text.matchAll(/["']\.\.\/([a-z-]+)\//g)].map(m => m[1])
      for (const r of refs) if (!dirs.has(r)) queue.push(r)
    }
  }
  fs.rmSync(path.join(root, 'miniprogram_npm'), { recursive: true, force: true })
  fs.mkdirSync(out, { recursive: true })
  for (const d of dirs) {
    const src = path.join(dist, d)
    if (fs.existsSync(src)) fs.cpSync(src, path.join(out, d), { recursive: true })
  }
  for (const f of fs.readdirSync(dist)) {
    if (fs.statSync(path.join(dist, f)).isFile()) fs.copyFileSync(path.join(dist, f), path.join(out, f))
  }
  // drop .d.ts files as DevTools does not need them
  for (const f of walk(out)) if (f.endsWith('.d.ts')) fs.rmSync(f)
  console.log(`build-npm: ${pkgName} → miniprogram_npm (${[...dirs].sort().join(', ')})`)
}

main()
