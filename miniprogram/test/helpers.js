const path = require('path')
const simulate = require('miniprogram-simulate')
const exparser = require('miniprogram-exparser')
const { createWx } = require('./wx-mock')

const ROOT = path.join(__dirname, '..')
const options = { rootPath: ROOT, compilerOptions: { maxBuffer: 64 * 1024 * 1024 } }

// simulate runs each component's js with require() and then deletes it from
// require.cache, which jest's registry ignores: a component used by two
// pages would only register once. A fresh registry per load runs them all.
function load(rel) {
  let id
  jest.isolateModules(() => { id = simulate.load(path.join(ROOT, rel), options) })
  return id
}

function mount(rel, props) {
  const comp = simulate.render(load(rel), props)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

// Installs a fresh wx double and resets the API module's session.
function useWx(routes, style = 'callback') {
  global.wx = createWx({ routes, style })
  const api = require('../utils/api')
  api.retryDelayMs = 1
  global.wx.setStorageSync('louyuan_tokens', { access: 'lya_test', refresh: 'lyr_test' })
  return global.wx
}

async function flush(n = 6) {
  for (let i = 0; i < n; i++) await new Promise(r => setTimeout(r, 0))
}

// Opens a page built with Component(): onLoad(query) then onShow.
async function openPage(rel, query = {}) {
  const page = mount(rel)
  if (page.instance.onLoad) await page.instance.onLoad(query)
  if (page.instance.onShow) await page.instance.onShow()
  await flush()
  return page
}

const norm = s => s.replace(/\s+/g, ' ').trim()
function text(comp) { return norm(comp.dom.textContent) }

// What a finger would hit: among the innermost elements whose text contains
// str, the one with the shortest text (the control labelled str itself).
function findByText(comp, str) {
  const found = []
  const walk = el => {
    if (!norm(el.textContent).includes(str)) return
    const inner = [...el.children].filter(c => norm(c.textContent).includes(str))
    if (!inner.length) found.push(el)
    inner.forEach(walk)
  }
  walk(comp.dom)
  found.sort((a, b) => norm(a.textContent).length - norm(b.textContent).length)
  return found[0] && found[0] !== comp.dom ? found[0] : null
}

function isDisabled(comp, str) {
  let el = findByText(comp, str)
  while (el && el !== comp.dom) {
    if (/disabled/.test(el.className || '') || el.getAttribute('disabled') === 'true') return true
    el = el.parentElement
  }
  return false
}

async function tap(comp, str) {
  const el = findByText(comp, str)
  if (!el) throw new Error(`nothing on screen says “${str}”. Screen: ${text(comp)}`)
  dispatch(el, 'tap')
  await flush()
}

function dispatch(el, name, detail = {}) {
  const ev = new CustomEvent(name, {})
  el.dispatchEvent(ev)
  if (el.__wxElement) {
    exparser.Event.dispatchEvent(el.__wxElement, exparser.Event.create(name, detail, {
      originalEvent: ev, bubbles: true, capturePhase: true, composed: true,
      extraFields: { touches: detail.touches || [], changedTouches: detail.changedTouches || [] },
    }))
  }
}

// Types into an <input>/<textarea> found by its class (inputs have no text).
async function type(comp, selector, value) {
  const el = comp.querySelector(selector)
  if (!el) throw new Error(`no input ${selector}`)
  el.dispatchEvent('input', { detail: { value } })
  await flush()
}

module.exports = { ROOT, load, mount, useWx, openPage, flush, text, findByText, tap, type, isDisabled, dispatch, simulate }
