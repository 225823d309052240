/**
 * The DSL source editor: a model file typed in the page (a textarea with line numbers), made a
 * model by ./model-source.ts and compiled by the pipeline's steps, so that it is drawn, run and
 * exported as a catalog model is. An error is shown under the editor and its line marked. Its own
 * chunk (with the transpiler), loaded when the user first opens it.
 */
import { traceFileModel } from '@tessera/models';
import example from '../../../examples/prenorm-block/block.ts?raw';
import { errorText } from './contract.ts';
import { EDITOR_FILE, errorLine, loadSource } from './model-source.ts';
import { type Compiled, compileTraced, type WeightsFile } from './pipeline.ts';

/** Builds the editor's model with the weights file the user picked, if any. */
export type Build = (weights: WeightsFile | undefined) => Promise<Compiled>;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function drawLineNumbers(source: HTMLTextAreaElement): void {
  const count = source.value.split('\n').length;
  const gutter = $('editor-lines');
  if (gutter.childElementCount === count) return;
  gutter.replaceChildren(...Array.from({ length: count }, (_, i) => Object.assign(document.createElement('span'), { textContent: String(i + 1) })));
}

function clearMark(): void {
  $('source-error').hidden = true;
  $('editor-mark').hidden = true;
  for (const n of $('editor-lines').querySelectorAll('.error')) n.classList.remove('error');
}

/** Places the mark over the line under the textarea's scroll (the gutter follows the same scroll). */
function placeMark(source: HTMLTextAreaElement): void {
  $('editor-lines').scrollTop = source.scrollTop;
  const line = Number($('editor-mark').dataset.line);
  if (line) $('editor-mark').style.top = `${(line - 1) * lineHeight(source) + parseFloat(getComputedStyle(source).paddingTop) - source.scrollTop}px`;
}

const lineHeight = (source: HTMLTextAreaElement) => parseFloat(getComputedStyle(source).lineHeight);

/** The error under the editor, as the CLI prints it; the line it names marked, selected and scrolled to. */
function showError(source: HTMLTextAreaElement, e: unknown): void {
  const text = errorText(e);
  $('source-error').hidden = false;
  $('source-error').textContent = `error: ${text}`;
  const line = errorLine(text);
  if (!line) return;
  const lines = source.value.split('\n');
  $('editor-lines').children[line - 1]?.classList.add('error');
  const start = lines.slice(0, line - 1).join('\n').length + (line > 1 ? 1 : 0);
  source.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  source.scrollTop = Math.max(0, (line - 1) * lineHeight(source) - source.clientHeight / 2);
  Object.assign($('editor-mark'), { hidden: false }).dataset.line = String(line);
  placeMark(source);
}

/** What the editor's buttons do: the page compiles (and runs) the model `build` makes, as it does a catalog model. */
export type Submit = (run: boolean, build: Build) => void;

let opened = false;

/** Shows the editor, with the pre-norm block of examples/prenorm-block the first time, and wires its buttons to `submit`. */
export function openEditor(submit: Submit): void {
  const source = $<HTMLTextAreaElement>('source');
  $('source-section').hidden = false;
  source.focus();
  if (opened) return;
  opened = true;
  source.value = example;
  drawLineNumbers(source);
  source.addEventListener('input', () => {
    drawLineNumbers(source);
    clearMark();
  });
  source.addEventListener('scroll', () => placeMark(source));
  const build: Build = async (weights) => {
    clearMark();
    try {
      const model = await loadSource(source.value);
      return compileTraced(model, traceFileModel(model), weights);
    } catch (e) {
      showError(source, e);
      throw e;
    }
  };
  $('source-compile').addEventListener('click', () => submit(false, build));
  $('source-run').addEventListener('click', () => submit(true, build));
}

export { EDITOR_FILE };
