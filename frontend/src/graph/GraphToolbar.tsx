// Editor commands: add/remove node, auto-layout, undo/redo.
import { commitConfig, redo, undo } from "../state/editing";
import { getState, setState, useStore } from "../state/store";
import { addNode, removeNode } from "./edits";
import { requestFit } from "./GraphEditor";

export function GraphToolbar() {
  const canUndo = useStore((s) => s.past.length > 0);
  const canRedo = useStore((s) => s.future.length > 0);
  const hasConfig = useStore((s) => s.config !== null);
  const selected = useStore((s) => s.selected);

  const onAdd = () => {
    const cfg = getState().config;
    if (!cfg) return;
    const { config, id } = addNode(cfg);
    commitConfig(config);
    setState({ selected: id });
  };
  const onRemove = () => {
    const { config, selected: sel } = getState();
    if (!config || !sel) return;
    commitConfig(removeNode(config, sel));
    setState({ selected: null });
  };

  return (
    <div className="ew-toolbar" role="toolbar" aria-label="graph editor">
      <button data-testid="add-node" onClick={onAdd} disabled={!hasConfig}>+ node</button>
      <button data-testid="delete-node" onClick={onRemove} disabled={!selected}>remove</button>
      <button data-testid="auto-layout" onClick={requestFit} disabled={!hasConfig}>auto-layout</button>
      <button data-testid="undo" onClick={undo} disabled={!canUndo} title="Ctrl+Z">undo</button>
      <button data-testid="redo" onClick={redo} disabled={!canRedo} title="Ctrl+Shift+Z">redo</button>
    </div>
  );
}
