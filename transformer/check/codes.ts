/**
 * Stable diagnostic codes. Never renumber: users and tests match on them.
 * PARAD10xx: kernel declaration, PARAD11xx: statements, PARAD12xx: expressions, PARAD13xx: semantics.
 */
export const CODES = {
  syntax: 'PARAD1000',
  anonymousKernel: 'PARAD1001',
  notExported: 'PARAD1002',
  asyncKernel: 'PARAD1003',
  generic: 'PARAD1004',
  paramForm: 'PARAD1005',
  paramType: 'PARAD1006',
  nodiffUnknown: 'PARAD1007',
  returnType: 'PARAD1008',
  noBody: 'PARAD1009',
  noKernels: 'PARAD1010',

  statement: 'PARAD1101',
  forForm: 'PARAD1102',
  varDecl: 'PARAD1103',
  destructuring: 'PARAD1104',
  noInit: 'PARAD1105',
  localType: 'PARAD1106',
  callStatement: 'PARAD1107',
  exprStatement: 'PARAD1108',
  lvalue: 'PARAD1109',
  returnPlace: 'PARAD1110',
  missingReturn: 'PARAD1111',

  expression: 'PARAD1201',
  sideEffect: 'PARAD1202',
  operator: 'PARAD1203',
  indexForm: 'PARAD1204',
  property: 'PARAD1205',
  call: 'PARAD1206',
  arity: 'PARAD1207',
  arrayAsValue: 'PARAD1208',
  scalarIndexed: 'PARAD1209',
  floatIndex: 'PARAD1210',

  duplicateName: 'PARAD1301',
  unknownName: 'PARAD1302',
  writeParam: 'PARAD1303',
  writeConst: 'PARAD1304',
  writeLoopVar: 'PARAD1305',
  loopBoundWritten: 'PARAD1306',
  parallelWritesOuter: 'PARAD1307',

  // layers (PARAD14xx)
  layerStatement: 'PARAD1401',
  layerCall: 'PARAD1402',
  layerArgument: 'PARAD1403',
  layerValue: 'PARAD1404',
  layerScratch: 'PARAD1405',
  layerSwap: 'PARAD1406',
  layerFloat: 'PARAD1407',
  layerImport: 'PARAD1408',
  layerRecursion: 'PARAD1409',
  checkpointPragma: 'PARAD1410',

  // pragmas and JSDoc tags (PARAD15xx, check/pragmas.ts)
  unknownPragma: 'PARAD1501',
  pragmaOption: 'PARAD1502',
  pragmaName: 'PARAD1503',
  misplacedPragma: 'PARAD1504',

  // analysis (PARAD2xxx)
  notParallel: 'PARAD2001',
  maybeNotParallel: 'PARAD2002',
  unknownExclusiveRead: 'PARAD2003',
  solverFailed: 'PARAD2004',

  // WGSL backend (PARAD3xxx)
  wgslUnsupported: 'PARAD3001',
  wgslNoAdjoint: 'PARAD3002',
  wgslSequential: 'PARAD3003',
  wgslLayer: 'PARAD3004',
  wgslBindings: 'PARAD3005',

  internal: 'PARAD9001',
} as const;
