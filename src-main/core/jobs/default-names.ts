// The default output and model names live in src-shared: the app pre-fills the name `quantfit fit` would use.
export { defaultModelName, defaultOutputName, fileNameOf, fileStem } from '../../../src-shared/default-names.ts';
