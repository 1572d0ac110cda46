/**
 * What the container commands work with, wired by cli/compose.ts (`openContainerStore`): the
 * store's parts, where images come from (the store, else a pull) and a runner made on first use.
 */
import type { ImageCommitter, ImageSource, LayerWriter, Runner, Snapshotter } from '../core/ports.js';
import type { ContainerStore } from '../store/containers.js';
import type { ImageStore } from '../store/images.js';

export interface ContainerDeps {
  root: string;
  containers: ContainerStore;
  /** The store's images (commit reads configs, tags and manifests there). */
  store: ImageStore;
  /** Resolves the image a `run` names: the store, else a pull (as `docker run` pulls). */
  images: ImageSource;
  snapshotter: Snapshotter;
  layers: LayerWriter;
  committer: ImageCommitter;
  /**
   * The runner of RUN steps (crun, runc or namespaces), made when a container first runs;
   * `terminal`: one that can give the container a terminal.
   */
  runner: (terminal: boolean) => Promise<Runner>;
  /** This process's scratch dir in the store. */
  tmpDir: string;
  /** Store recovery again (what a dead process left: its containers stopped, records marked). */
  recover(): Promise<void>;
}
