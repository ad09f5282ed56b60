// The part of the WebGPU API this backend uses, declared here because TypeScript's DOM library does
// not carry WebGPU and the project takes no type-only dependency for it (@webgpu/types).

export interface GPUBufferLike {
  readonly size: number;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export interface GPUPipelineLike {
  getBindGroupLayout(i: number): unknown;
}

export interface GPUPassLike {
  setPipeline(p: GPUPipelineLike): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}

export interface GPUEncoderLike {
  beginComputePass(): GPUPassLike;
  copyBufferToBuffer(src: GPUBufferLike, so: number, dst: GPUBufferLike, doff: number, size: number): void;
  clearBuffer(b: GPUBufferLike, offset?: number, size?: number): void;
  finish(): unknown;
}

export interface GPUDeviceLike {
  readonly limits: Record<string, number>;
  readonly features: { has(name: string): boolean };
  readonly queue: {
    submit(cmds: unknown[]): void;
    writeBuffer(b: GPUBufferLike, offset: number, data: ArrayBufferView): void;
    onSubmittedWorkDone(): Promise<void>;
  };
  readonly lost: Promise<{ reason: string; message: string }>;
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): GPUBufferLike;
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): GPUPipelineLike;
  createBindGroup(d: {
    layout: unknown;
    entries: { binding: number; resource: { buffer: GPUBufferLike; offset?: number; size?: number } }[];
  }): unknown;
  createCommandEncoder(): GPUEncoderLike;
  pushErrorScope(filter: 'out-of-memory' | 'validation' | 'internal'): void;
  popErrorScope(): Promise<{ message: string } | null>;
  destroy(): void;
  addEventListener?(type: 'uncapturederror', fn: (ev: unknown) => void): void;
}

export interface GPUAdapterLike {
  readonly features: { has(name: string): boolean };
  readonly limits: Record<string, number>;
  readonly info?: { vendor?: string; architecture?: string; description?: string };
  requestDevice(d?: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<GPUDeviceLike>;
}

export interface GPULike {
  requestAdapter(o?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GPUAdapterLike | null>;
}

/** GPUBufferUsage and GPUMapMode flags (fixed by the spec). */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;
export const MAP_READ = 0x1;
