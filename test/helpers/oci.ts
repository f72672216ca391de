import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';

/** OCI media types used by the layout (image-spec 1.0). */
export const OCI_MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const BLOCK = 512;

export interface OciImage {
  /** The OCI image layout directory. */
  layoutDir: string;
  /** skopeo reference, `oci:<layoutDir>:<tag>`. */
  ref: string;
  tag: string;
  /** `sha256:…` of the manifest, as a registry reports it after a push. */
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
}

export interface BuildOptions {
  /** Regular files of the single layer, path → UTF-8 content. Default: one small text file. */
  files?: Record<string, string>;
  /** Tag (`org.opencontainers.image.ref.name`). Default `latest`. */
  tag?: string;
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Write `value` as a NUL-terminated, zero-padded octal field of `width` bytes. */
function octal(header: Buffer, offset: number, width: number, value: number): void {
  header.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

/** One ustar header block. Only names up to 100 bytes are needed for test layers. */
function ustarHeader(name: string, size: number, type: 'file' | 'dir'): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long for ustar: ${name}`);
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  octal(header, 100, 8, type === 'dir' ? 0o755 : 0o644);
  octal(header, 108, 8, 0); // uid
  octal(header, 116, 8, 0); // gid
  octal(header, 124, 12, size);
  octal(header, 136, 12, 0); // mtime: fixed so the same files give the same digest
  header.write(type === 'dir' ? '5' : '0', 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write('root', 265, 32, 'ascii');
  header.write('root', 297, 32, 'ascii');
  // The checksum is computed with its own field read as eight spaces.
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

/** A deterministic tar of `files` (sorted, with parent directory entries). */
export function buildTar(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const path of Object.keys(files)) {
    if (path === '' || path.startsWith('/') || path.split('/').some((c) => c === '' || c === '.' || c === '..')) {
      throw new Error(`invalid layer path: ${JSON.stringify(path)}`);
    }
    for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) dirs.add(dir);
  }
  for (const dir of [...dirs].sort()) parts.push(ustarHeader(`${dir}/`, 0, 'dir'));
  for (const path of Object.keys(files).sort()) {
    const body = Buffer.from(files[path] ?? '', 'utf8');
    parts.push(ustarHeader(path, body.length, 'file'), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(BLOCK * 2)); // end-of-archive marker
  return Buffer.concat(parts);
}

async function writeBlob(layoutDir: string, data: Uint8Array): Promise<{ digest: string; size: number }> {
  const digest = sha256(data);
  await writeFile(join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length)), data);
  return { digest, size: data.length };
}

interface IndexDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

async function readIndexManifests(layoutDir: string): Promise<IndexDescriptor[]> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'manifests' in parsed && Array.isArray(parsed.manifests)) {
      return parsed.manifests as IndexDescriptor[];
    }
    throw new Error(`${layoutDir}/index.json has no manifests array`);
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * Build a small single-platform (linux/amd64) OCI image layout in `dir` without
 * any container daemon. Calling it again on the same dir adds (or replaces) a tag.
 */
export async function buildOciImage(dir: string, opts: BuildOptions = {}): Promise<OciImage> {
  const tag = opts.tag ?? 'latest';
  const files = opts.files ?? { 'hello.txt': 'hello from portcullis\n' };
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });

  const tar = buildTar(files);
  const layer = await writeBlob(dir, gzipSync(tar, { level: 9 }));
  const config = await writeBlob(
    dir,
    Buffer.from(
      JSON.stringify({
        created: '1970-01-01T00:00:00Z',
        architecture: 'amd64',
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
        history: [{ created: '1970-01-01T00:00:00Z', created_by: 'portcullis test harness' }],
      }),
    ),
  );
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MEDIA_TYPES.manifest,
      config: { mediaType: OCI_MEDIA_TYPES.config, ...config },
      layers: [{ mediaType: OCI_MEDIA_TYPES.layerGzip, ...layer }],
    }),
  );
  const manifest = await writeBlob(dir, manifestBytes);

  const others = (await readIndexManifests(dir)).filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== tag);
  const index = {
    schemaVersion: 2,
    mediaType: OCI_MEDIA_TYPES.index,
    manifests: [
      ...others,
      { mediaType: OCI_MEDIA_TYPES.manifest, ...manifest, annotations: { [REF_NAME_ANNOTATION]: tag } },
    ],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  return {
    layoutDir: dir,
    ref: `oci:${dir}:${tag}`,
    tag,
    manifestDigest: manifest.digest,
    configDigest: config.digest,
    layerDigest: layer.digest,
  };
}
