// A small reader of an XLSX file's first sheet, so that the roster page
// can show the server's per-row errors next to the rows of the file. It
// only displays cells; the server alone validates and imports.

function u16(b, i) {
  return b[i] | (b[i + 1] << 8)
}
function u32(b, i) {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0
}

async function inflate(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/** unzip returns name → bytes for the entries wanted. */
export async function unzip(buf, wanted) {
  const b = new Uint8Array(buf)
  let eocd = -1
  for (let i = b.length - 22; i >= Math.max(0, b.length - 65557); i--) {
    if (u32(b, i) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw new Error('not a zip file')
  const count = u16(b, eocd + 10)
  let p = u32(b, eocd + 16)
  const out = {}
  const dec = new TextDecoder()
  for (let n = 0; n < count; n++) {
    if (u32(b, p) !== 0x02014b50) throw new Error('bad zip directory')
    const method = u16(b, p + 10)
    const size = u32(b, p + 20)
    const nameLen = u16(b, p + 28)
    const extraLen = u16(b, p + 30)
    const commentLen = u16(b, p + 32)
    const local = u32(b, p + 42)
    const name = dec.decode(b.subarray(p + 46, p + 46 + nameLen))
    p += 46 + nameLen + extraLen + commentLen
    if (!wanted(name)) continue
    const start = local + 30 + u16(b, local + 26) + u16(b, local + 28)
    const raw = b.subarray(start, start + size)
    out[name] = method === 8 ? await inflate(raw) : raw
  }
  return out
}

function unescapeXml(s) {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (m, e) => {
    const named = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e.toLowerCase()]
    if (named) return named
    return String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
  })
}

function textOf(xml) {
  let s = ''
  for (const m of xml.matchAll(/<t(?:\s[^>]*)?>([\s\S]*?)<\/t>/g)) s += m[1]
  return unescapeXml(s)
}

function colIndex(ref) {
  const letters = /^[A-Z]+/.exec(ref)[0]
  let n = 0
  for (const ch of letters) n = n * 26 + ch.charCodeAt(0) - 64
  return n - 1
}

/** readSheet reads the first worksheet into rows of strings; row numbers as in Excel. */
export async function readSheet(buf) {
  const files = await unzip(buf, (n) => n === 'xl/sharedStrings.xml' || /^xl\/worksheets\/sheet\d+\.xml$/.test(n))
  const dec = new TextDecoder()
  const shared = []
  if (files['xl/sharedStrings.xml']) {
    for (const m of dec.decode(files['xl/sharedStrings.xml']).matchAll(/<si>([\s\S]*?)<\/si>/g)) shared.push(textOf(m[1]))
  }
  const sheetName = Object.keys(files)
    .filter((n) => n.startsWith('xl/worksheets/'))
    .sort((a, b) => Number(/(\d+)\.xml$/.exec(a)[1]) - Number(/(\d+)\.xml$/.exec(b)[1]))[0]
  if (!sheetName) return []
  const rows = []
  for (const rm of dec.decode(files[sheetName]).matchAll(/<row\b([^>]*?)(?:\/>|>([\s\S]*?)<\/row>)/g)) {
    const num = Number(/\br="(\d+)"/.exec(rm[1])?.[1] || rows.length + 1)
    const cells = []
    for (const cm of (rm[2] || '').matchAll(/<c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const attrs = cm[1]
      const ref = /\br="([A-Z]+)\d+"/.exec(attrs)?.[1]
      const type = /\bt="(\w+)"/.exec(attrs)?.[1]
      const body = cm[2] || ''
      let v = /<v>([\s\S]*?)<\/v>/.exec(body)?.[1] ?? ''
      if (type === 's') v = shared[Number(v)] ?? ''
      else if (type === 'inlineStr') v = textOf(body)
      else v = unescapeXml(v)
      cells[ref ? colIndex(ref) : cells.length] = v
    }
    rows.push({ row: num, cells: Array.from(cells, (c) => c ?? '') })
  }
  return rows
}
