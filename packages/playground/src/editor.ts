/**
 * The DSL source editor: a model file typed in the page (CodeMirror 6, TypeScript highlighting),
 * made a model by ./model-source.ts and compiled by the pipeline's steps, so that it is drawn, run
 * and exported as a catalog model is. An error is shown under the editor, its line marked (the line
 * and its number) and scrolled to. Its own chunk (with CodeMirror and the transpiler), loaded when
 * the user first opens it.
 */
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { typescriptLanguage } from '@codemirror/lang-javascript';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { EditorState, RangeSet, StateEffect, StateField } from '@codemirror/state';
import { Decoration, type DecorationSet, drawSelection, EditorView, GutterMarker, gutterLineClass, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { traceFileModel } from '@tessera/models';
import example from '../../../examples/prenorm-block/block.ts?raw';
import { errorText } from './contract.ts';
import { EDITOR_FILE, errorLine, loadSource } from './model-source.ts';
import { type Compiled, compileTraced, type WeightsFile } from './pipeline.ts';

/** Builds the editor's model with the weights file the user picked, if any. */
export type Build = (weights: WeightsFile | undefined) => Promise<Compiled>;

/** What the editor's buttons do: the page compiles (and runs) the model `build` makes, as it does a catalog model. */
export type Submit = (run: boolean, build: Build) => void;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The line an error names (1-based), or 0 for none. */
const markLine = StateEffect.define<number>();
const errorLineMark = Decoration.line({ class: 'cm-error-line' });
const errorNumberMark = new (class extends GutterMarker {
  override elementClass = 'cm-error-number';
})();

/** The error's line: marked until the text changes. */
const errorMark = StateField.define<{ line: DecorationSet; number: RangeSet<GutterMarker> }>({
  create: () => ({ line: Decoration.none, number: RangeSet.empty }),
  update(marks, tr) {
    for (const e of tr.effects) {
      if (!e.is(markLine)) continue;
      if (e.value === 0) return { line: Decoration.none, number: RangeSet.empty };
      const at = tr.state.doc.line(e.value).from;
      return { line: Decoration.set([errorLineMark.range(at)]), number: RangeSet.of([errorNumberMark.range(at)]) };
    }
    return tr.docChanged ? { line: Decoration.none, number: RangeSet.empty } : marks;
  },
  provide: (f) => [EditorView.decorations.from(f, (m) => m.line), gutterLineClass.from(f, (m) => m.number)],
});

/** The error under the editor, as the CLI prints it; the line it names marked, selected and scrolled to the middle. */
function showError(view: EditorView, e: unknown): void {
  const text = errorText(e);
  $('source-error').hidden = false;
  $('source-error').textContent = `error: ${text}`;
  const line = errorLine(text);
  if (!line || line > view.state.doc.lines) return;
  const { from, to } = view.state.doc.line(line);
  view.dispatch({ effects: [markLine.of(line), EditorView.scrollIntoView(from, { y: 'center' })], selection: { anchor: from, head: to } });
}

let view: EditorView | undefined;

/** Shows the editor, with the pre-norm block of examples/prenorm-block the first time, and wires its buttons to `submit`. */
export function openEditor(submit: Submit): void {
  $('source-section').hidden = false;
  if (view) {
    view.focus();
    return;
  }
  const editor = new EditorView({
    parent: $('editor'),
    state: EditorState.create({
      doc: example,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle),
        typescriptLanguage,
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        errorMark,
        EditorView.contentAttributes.of({ 'aria-label': EDITOR_FILE }),
        // an edit clears the error shown for the text before it
        EditorView.updateListener.of((u) => {
          if (u.docChanged) $('source-error').hidden = true;
        }),
      ],
    }),
  });
  view = editor;
  const build: Build = async (weights) => {
    $('source-error').hidden = true;
    editor.dispatch({ effects: markLine.of(0) });
    try {
      const model = await loadSource(editor.state.doc.toString());
      return compileTraced(model, traceFileModel(model), weights);
    } catch (e) {
      showError(editor, e);
      throw e;
    }
  };
  $('source-compile').addEventListener('click', () => submit(false, build));
  $('source-run').addEventListener('click', () => submit(true, build));
  editor.focus();
}

export { EDITOR_FILE };
