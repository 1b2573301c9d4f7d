/** The CycloneDX 1.6 JSON members alba writes (a subset of bom-1.6.schema.json). */

/** A CycloneDX hash. */
export interface CdxHash {
  alg: 'SHA-256';
  content: string;
}

/** A name/value property (`alba:…` names). */
export interface CdxProperty {
  name: string;
  value: string;
}

/** An external reference: where a .deb was downloaded from, or the BOM of a platform image (BOM-Link). */
export interface CdxExternalReference {
  type: 'distribution' | 'bom';
  url: string;
  hashes?: CdxHash[];
}

/** A CycloneDX component: a Debian package, a recipe file, or an OCI image. */
export interface CdxComponent {
  type: 'application' | 'library' | 'operating-system' | 'container' | 'file';
  'bom-ref': string;
  supplier?: { name: string; contact?: { email: string }[] };
  name: string;
  version?: string;
  description?: string;
  hashes?: CdxHash[];
  licenses?: { expression: string; acknowledgement: 'declared' }[];
  purl?: string;
  externalReferences?: CdxExternalReference[];
  properties?: CdxProperty[];
}

/** One node of the dependency graph. */
export interface CdxDependency {
  ref: string;
  dependsOn: string[];
}

/** A CycloneDX 1.6 BOM as alba writes it. */
export interface CdxDocument {
  $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json';
  bomFormat: 'CycloneDX';
  specVersion: '1.6';
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    tools: { components: { type: 'application'; name: 'alba'; version: string; externalReferences?: CdxExternalReference[] }[] };
    component: CdxComponent;
    properties?: CdxProperty[];
  };
  components: CdxComponent[];
  dependencies: CdxDependency[];
}
