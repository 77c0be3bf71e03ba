// Marp CLI settings for the slideshows that `make slides` builds
// (slides/build.py passes this file with --config-file).
//
// The decks are plain CommonMark that Marp also reads, so the engine keeps
// to that: no math, no emoji images (they would be fetched from the
// network), and GitHub-style task lists ("- [ ] item") shown as boxes.
import { Marp } from '@marp-team/marp-core'

const BOX = { ' ': '\u2610', x: '\u2611', X: '\u2611' }

function taskLists(md) {
  md.core.ruler.after('inline', 'netlab_task_lists', (state) => {
    const tokens = state.tokens
    for (let i = 2; i < tokens.length; i++) {
      if (tokens[i].type !== 'inline' || tokens[i - 1].type !== 'paragraph_open' ||
          tokens[i - 2].type !== 'list_item_open') continue
      const first = tokens[i].children[0]
      const m = first && first.type === 'text' && /^\[([ xX])\] /.exec(first.content)
      if (!m) continue
      first.content = `${BOX[m[1]]} ${first.content.slice(4)}`
      tokens[i - 2].attrJoin('class', 'task-list-item')
      tokens[i - 2].attrJoin('style', 'list-style-type: none')
    }
  })
}

export default {
  lang: 'en',
  engine: (options) =>
    new Marp({
      ...options,
      math: false,
      // A line break in the source is a space, as in CommonMark (Marp's own
      // default makes each one a <br>).
      markdown: { ...options.markdown, breaks: false },
      emoji: { ...options.emoji, shortcode: false, unicode: false },
    }).use(taskLists),
}
