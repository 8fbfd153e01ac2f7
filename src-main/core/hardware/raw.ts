// The recorded form of a hardware probe: the parts of systeminformation's answers the profile is
// built from, plus the platform and the free-space query. Fixtures in test/fixtures/hardware are
// this shape, so profileFromRaw can be tested on machines we do not have.

/** One graphics controller as systeminformation reports it (vram/memory* in MiB). */
export interface RawGpu {
  readonly vendor?: string;
  readonly vendorId?: string;
  readonly model?: string;
  readonly name?: string;
  readonly bus?: string;
  readonly vram?: number | null;
  readonly vramDynamic?: boolean;
  readonly memoryTotal?: number;
  readonly memoryFree?: number;
  readonly cores?: number | null;
  readonly busAddress?: string;
  /** Linux amdgpu/xe sysfs (mem_info_vram_total/used, mem_info_gtt_total), bytes, when present. */
  readonly sysfsVramTotalBytes?: number;
  readonly sysfsVramUsedBytes?: number;
  readonly sysfsGttTotalBytes?: number;
}

export interface RawHardware {
  /** process.platform / process.arch of the probed machine. */
  readonly platform: string | null;
  readonly arch: string | null;
  /** si.mem(): bytes. */
  readonly mem: { readonly total: number; readonly available?: number } | null;
  /** si.cpu(): the fields used. */
  readonly cpu: {
    readonly manufacturer?: string;
    readonly brand?: string;
    readonly cores?: number;
    readonly physicalCores?: number;
    readonly flags?: string;
  } | null;
  /** si.graphics().controllers. null when the query itself failed. */
  readonly gpus: readonly RawGpu[] | null;
  /** fs.statfs of the output folder. */
  readonly disk: { readonly path: string; readonly freeBytes: number; readonly totalBytes: number } | null;
  /** Which queries failed, and how (query name → message). */
  readonly errors?: Readonly<Record<string, string>>;
}
