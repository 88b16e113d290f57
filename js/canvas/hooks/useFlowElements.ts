/**
 * React Flow's nodes and edges, derived from the graph document.
 *
 * React Flow owns run-time state the graph never holds (measured sizes,
 * selection, positions while a drag is in flight). Whenever the graph's
 * nodes or edges change, the elements are derived again, keeping that state
 * for ids that survive; in between, React Flow's own changes (drag frames,
 * selection, measurement) apply locally and are never written to Python.
 */
import { applyEdgeChanges, applyNodeChanges, Edge, OnEdgesChange, OnNodesChange } from '@xyflow/react';
import { useCallback, useRef, useState } from 'react';

import { Blocks, FlowNode, fitGroups, Graph, toFlowEdges, toFlowNodes } from '../graph';

export interface FlowElements {
  nodes: FlowNode[];
  edges: Edge[];
  onNodesChange: OnNodesChange<FlowNode>;
  onEdgesChange: OnEdgesChange;
  /** The nodes as React Flow last reported them (for handlers outside a render). */
  currentNodes(): FlowNode[];
  /** Select exactly `ids` once they exist (e.g. the block just added or pasted). */
  selectOnly(ids: readonly string[]): void;
}

function withSelection(nodes: FlowNode[], ids: ReadonlySet<string>): FlowNode[] {
  return nodes.map(n => (ids.has(n.id) !== Boolean(n.selected) ? { ...n, selected: ids.has(n.id) } : n));
}

export function useFlowElements(graph: Graph, blocks: Blocks): FlowElements {
  const [nodes, setNodes] = useState<FlowNode[]>(() => toFlowNodes(graph, blocks));
  const [edges, setEdges] = useState<Edge[]>(() => toFlowEdges(graph));
  const [source, setSource] = useState({ graph, blocks });
  const pendingSelection = useRef<Set<string> | null>(null);
  const nodesRef = useRef(nodes);
  const blocksRef = useRef(blocks);
  blocksRef.current = blocks;

  let shown = nodes;
  if (source.graph !== graph || source.blocks !== blocks) {
    // derive during render (React's pattern for state that follows a prop): no frame shows stale blocks
    setSource({ graph, blocks });
    if (source.graph.nodes !== graph.nodes || source.blocks !== blocks || pendingSelection.current) {
      shown = toFlowNodes(graph, blocks, nodes);
      if (pendingSelection.current) {
        shown = withSelection(shown, pendingSelection.current);
        pendingSelection.current = null;
      }
      setNodes(shown);
    }
    if (source.graph.edges !== graph.edges) {
      setEdges(toFlowEdges(graph, edges));
    }
  }
  nodesRef.current = shown;

  const onNodesChange: OnNodesChange<FlowNode> = useCallback(
    changes => setNodes(nds => fitGroups(applyNodeChanges(changes, nds), blocksRef.current)),
    []
  );
  const onEdgesChange: OnEdgesChange = useCallback(changes => setEdges(eds => applyEdgeChanges(changes, eds)), []);
  const currentNodes = useCallback(() => nodesRef.current, []);
  const selectOnly = useCallback((ids: readonly string[]) => {
    const chosen = new Set(ids);
    if (ids.every(id => nodesRef.current.some(n => n.id === id))) {
      setNodes(prev => withSelection(prev, chosen));
    } else {
      pendingSelection.current = chosen; // applied when the graph holding them is derived
    }
  }, []);

  return { nodes: shown, edges, onNodesChange, onEdgesChange, currentNodes, selectOnly };
}
